package realkafka

import (
	"os/exec"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestBrokerRestartMidStream restarts the broker while two attrsync
// processes are syncing: they reconnect by themselves, and the sync ends
// with every user's last values in Iterable and every offset committed.
func TestBrokerRestartMidStream(t *testing.T) {
	const (
		parts    = 6
		users    = 200
		versions = 6
		rate     = 10
	)
	control := broker(t, "ATTRSYNC_KAFKA_CONTROL") // deploy/local/kafka/kafka.sh
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: rate})
	h := testenv.History(users, versions, 21)
	cfg := e.writeConfig("restart.yaml", syncConfig{bulkPerSecond: rate, maxUsers: 20})
	a, b := e.startProc("run", "-c", cfg), e.startProc("run", "-c", cfg)

	half := versions / 2 * users
	e.Kafka.Produce(e.Topic, h.Msgs[:half]...)
	testenv.WaitFor(t, 60*time.Second, "requests from attrsync", func() bool { return len(testenv.BulkRequests(e.Sim)) >= 5 })
	if e.caughtUp(parts) {
		t.Fatal("the first half was finished before the restart; the test needs a longer stream")
	}
	restart := exec.Command(control, "restart")
	if out, err := restart.CombinedOutput(); err != nil {
		t.Fatalf("%s restart: %v\n%s", control, err, out)
	}
	// The restarted broker accepts connections before it has elected its
	// partitions' leaders again, and a write before that is refused.
	e.Kafka.WaitForLeaders(e.Topic, parts)
	e.Kafka.Produce(e.Topic, h.Msgs[half:]...)

	testenv.WaitFor(t, 120*time.Second, "the group to commit every end offset after the restart", func() bool { return e.caughtUp(parts) })
	for _, p := range []*testenv.Proc{a, b} {
		if code := p.Stop(t, stopWithin); code != 0 {
			t.Errorf("attrsync exited %d after SIGTERM, want 0", code)
		}
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
	if n := e.Sim.Stats().TooManyRequests; n != 0 {
		t.Errorf("Iterable answered 429 %d times", n)
	}
}
