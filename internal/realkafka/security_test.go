package realkafka

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// secured returns the config of the broker's SASL_SSL listener, with the
// given password.
func secured(t *testing.T, password string) syncConfig {
	t.Helper()
	return syncConfig{
		bulkPerSecond: 50, maxUsers: 50,
		brokers: []string{broker(t, "ATTRSYNC_KAFKA_SASL_BROKERS")},
		security: fmt.Sprintf("  tls: {enabled: true, ca_file: %q}\n  sasl: {mechanism: %s, username: %q, password: %q}\n",
			broker(t, "ATTRSYNC_KAFKA_CA_FILE"), broker(t, "ATTRSYNC_KAFKA_SASL_MECHANISM"),
			broker(t, "ATTRSYNC_KAFKA_SASL_USERNAME"), password),
	}
}

// TestSCRAMOverTLS syncs through the broker's SASL_SSL listener: TLS
// verified against the generated CA, SCRAM-SHA-512 authentication.
func TestSCRAMOverTLS(t *testing.T) {
	const parts = 3
	cfg := secured(t, broker(t, "ATTRSYNC_KAFKA_SASL_PASSWORD"))
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: -1})
	h := testenv.History(60, 3, 41)
	e.Kafka.Produce(e.Topic, h.Msgs...)
	path := e.writeConfig("tls.yaml", cfg)

	p := e.startProc("run", "-c", path)
	testenv.WaitFor(t, 60*time.Second, "the group to commit every end offset over SASL_SSL", func() bool { return e.caughtUp(parts) })
	if code := p.Stop(t, stopWithin); code != 0 {
		t.Errorf("attrsync exited %d after SIGTERM, want 0", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
}

// TestWrongPasswordFailsFast starts run and replay with a wrong SCRAM
// password: each exits by itself with an error naming SASL authentication,
// and the password appears nowhere in the output.
func TestWrongPasswordFailsFast(t *testing.T) {
	const wrong = "not-the-password-8d1f"
	cfg := secured(t, wrong)
	e := newEnv(t, 1, sim.Options{})
	path := e.writeConfig("wrong.yaml", cfg)
	for _, args := range [][]string{
		{"run", "-c", path},
		{"replay", "-c", path, "--from", "earliest"},
		{"replay", "-c", path, "--from", "earliest", "--dry-run"},
	} {
		proc := e.startProc(args...)
		code, out := proc.Wait(t, 60*time.Second), proc.Output(t)
		if code == 0 {
			t.Errorf("%v exited 0 with a wrong password", args)
		}
		if !strings.Contains(out, "SASL authentication failed") {
			t.Errorf("%v: the output does not say SASL authentication failed:\n%s", args, out[max(0, len(out)-3000):])
		}
		if strings.Contains(out, wrong) {
			t.Errorf("%v: the password appears in the output", args)
		}
	}
}
