package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "attrsync.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateListsEveryProblemAndExits2(t *testing.T) {
	path := writeFile(t, `
sync: {name: users}
kafka: {brokers: ["127.0.0.1:9092"], topics: ["users"], start_offset: sometimes}
redis: {url: "redis://127.0.0.1:6379/0"}
iterable:
  api_key: secret-key-that-must-not-leak
  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: last_name, to: firstName}
    - {from: created, to: signupDate}
    - {from: x, to: ""}
batch: {max_bytes: 9000000}
`)
	var out, errOut bytes.Buffer
	if code := Main([]string{"validate", "-c", path}, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut.String())
	}
	msg := errOut.String()
	for _, want := range []string{"kafka.start_offset", "iterable.attributes[1].to", "iterable.attributes[2].to", "iterable.attributes[3].to", "batch.max_bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems do not mention %s:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "secret-key-that-must-not-leak") {
		t.Error("the API key appears in the error output")
	}
}

func TestValidateAcceptsAGoodConfig(t *testing.T) {
	path := writeFile(t, `
sync: {name: users}
kafka: {brokers: ["127.0.0.1:9092"], topics: ["users"]}
redis: {url: "redis://127.0.0.1:6379/0"}
iterable:
  api_key: ${TEST_ITERABLE_KEY:-k}
  identifier: {source: email}
  attributes: [{from: first_name, to: firstName}]
`)
	var out, errOut bytes.Buffer
	if code := Main([]string{"validate", "-c", path}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "config OK") {
		t.Errorf("stdout %q", out.String())
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{}, {"frobnicate"}, {"validate"}, {"run", "-bogus"}} {
		if code := Main(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
