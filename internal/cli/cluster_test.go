package cli

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestStateCommandsOnRedisCluster runs `state inspect` and `state reset`
// against a three-master Redis Cluster (redis.cluster: true, the URL
// naming one seed node): inspect finds a user whichever master holds its
// bucket, and reset drops every user on every master.
func TestStateCommandsOnRedisCluster(t *testing.T) {
	e := newOpsEnv(t)
	cluster := testenv.StartRedisCluster(t)
	c := e.sync()
	c.RedisURL, c.RedisCluster = cluster.URL, true
	path := c.Write(t, t.TempDir(), "cluster.yaml")

	// The state a sync of the stream mapping leaves, written through the
	// cluster as the sync writes it.
	ctx := t.Context()
	store, err := state.New(ctx, cluster.Client(), "attrsync", "ops", testenv.StreamFields())
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	users := make([]change.Identifier, n)
	recs := make([]state.Record, n)
	for i := range users {
		users[i] = change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%04d@example.com", i)}
		recs[i] = store.Apply(state.Record{}, []change.Attr{{Name: "firstName", JSON: []byte(`"Ann"`)}},
			change.Position{Topic: opsTopic, Partition: i % 2, Offset: int64(i)}, false, time.Now())
	}
	if _, err := store.Save(ctx, users, recs); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := Main([]string{"validate", "-c", path, "--connect"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "redis:    ok") {
		t.Errorf("validate --connect on a cluster: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, i := range []int{0, 7, 151, 299} { // buckets on different masters
		out.Reset()
		if code := Main([]string{"state", "inspect", "-c", path, "--user", fmt.Sprintf("USER%04d@example.com", i)}, &out, &errOut); code != exitOK {
			t.Fatalf("state inspect: exit %d: %s", code, errOut.String())
		}
		want := regexp.MustCompile(fmt.Sprintf(`position: +app\.public\.users partition %d offset %d\b`, i%2, i))
		if !want.MatchString(out.String()) || !regexp.MustCompile(`(?m)^  firstName +[0-9a-f]{16}$`).MatchString(out.String()) {
			t.Errorf("state inspect of user %d on the cluster:\n%s", i, out.String())
		}
	}

	out.Reset()
	if code := stateCmd([]string{"reset", "-c", path, "--yes"}, strings.NewReader(""), &out, &errOut); code != exitOK {
		t.Fatalf("state reset: exit %d: %s", code, errOut.String())
	}
	if want := fmt.Sprintf("dropped the state of %d users", n); !strings.Contains(out.String(), want) {
		t.Errorf("state reset says %q, want %q", out.String(), want)
	}
	out.Reset()
	Main([]string{"state", "inspect", "-c", path, "--user", "user0151@example.com"}, &out, &errOut)
	if !strings.Contains(out.String(), "none stored") {
		t.Errorf("state survived the reset on the cluster:\n%s", out.String())
	}
}
