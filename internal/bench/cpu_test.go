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

func TestReadPID(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{write("ok", "26058\n"), 26058},
		{write("garbage", "java\n"), 0},
		{write("negative", "-1"), 0},
		{filepath.Join(dir, "missing"), 0},
	} {
		if got := ReadPID(c.path); got != c.want {
			t.Errorf("ReadPID(%s) = %d, want %d", filepath.Base(c.path), got, c.want)
		}
	}
}
