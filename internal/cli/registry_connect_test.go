package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// TestValidateConnectReachesTheSchemaRegistry checks the line validate
// --connect prints for the schema registry of an avro sync: ok with its
// subjects when the credentials are right, FAILED with the status when
// they are refused or nothing answers, and never the password.
func TestValidateConnectReachesTheSchemaRegistry(t *testing.T) {
	const password = "sr-pass-5e1c9a"
	e := newOpsEnv(t)
	reg := srfake.New(srfake.WithAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("attrsync:"+password))))
	t.Cleanup(reg.Close)
	// The connector has written to the topic: its key and value subjects
	// exist.
	if _, _, err := cdctest.NewAvro(reg).Event(&cdctest.Table{Topic: opsTopic, Key: "id", Columns: []cdctest.Column{{Name: "id", Type: cdctest.Int64}}},
		cdctest.Event{Op: "c", After: cdctest.Row{"id": 1}}); err != nil {
		t.Fatal(err)
	}
	config := func(url, pass string) string {
		c := e.sync()
		c.Add(fmt.Sprintf("source: {format: avro, schema_registry: {url: %q, username: attrsync, password: %q}}", url, pass))
		return c.Write(t, t.TempDir(), "registry.yaml")
	}
	for _, c := range []struct {
		name, url, password string
		exit                int
		want                string
	}{
		{"reachable", reg.URL(), password, exitOK,
			"schema registry: ok (" + reg.URL() + " answered, 2 subjects; has app.public.users-value)"},
		{"credentials refused", reg.URL(), "wrong-" + password, exitFailed,
			"schema registry: FAILED: credentials refused (HTTP 403)"},
		{"nothing listening", "http://127.0.0.1:1", password, exitFailed,
			"schema registry: FAILED: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main([]string{"validate", "-c", config(c.url, c.password), "--connect"}, &out, &errOut)
			if code != c.exit {
				t.Errorf("exit %d, want %d:\n%s%s", code, c.exit, out.String(), errOut.String())
			}
			// One line per system, in order, the results lined up.
			for _, want := range []string{"kafka:           ok", "redis:           ok", c.want, "iterable:        ok"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String()+errOut.String(), password) {
				t.Errorf("the registry's password appears in the output:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}
