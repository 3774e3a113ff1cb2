package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestProcessCPUMatchesRusage reads this process's CPU time from
// /proc/<pid>/stat, as the bench reads the real broker's, and checks it
// against getrusage after some work: a wrong field or unit would be off by
// far more than the 10 ms tick.
func TestProcessCPUMatchesRusage(t *testing.T) {
	deadline := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		n++
	}
	_ = n
	fromStat, fromRusage := processCPU(os.Getpid()), cpuTime()
	if fromStat < 200*time.Millisecond {
		t.Fatalf("processCPU = %v after 300 ms of work", fromStat)
	}
	if d := fromRusage - fromStat; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("processCPU = %v, getrusage = %v: more than 50 ms apart", fromStat, fromRusage)
	}
	if got := processCPU(0); got != 0 {
		t.Errorf("processCPU(0) = %v, want 0 (no such process)", got)
	}
}

// TestBrokerPID reads kafka.sh's pid file from its instance directory,
// and gives 0 (broker not measured) for anything else.
func TestBrokerPID(t *testing.T) {
	pidIn := func(content string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, c := range []struct {
		name, dir string
		want      int
	}{
		{"pid file", pidIn("26058\n"), 26058},
		{"not a number", pidIn("java\n"), 0},
		{"negative", pidIn("-1"), 0},
		{"no pid file", t.TempDir(), 0},
		{"no directory named", "", 0},
	} {
		if got := BrokerPID(c.dir); got != c.want {
			t.Errorf("%s: BrokerPID = %d, want %d", c.name, got, c.want)
		}
	}
}
