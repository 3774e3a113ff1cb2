package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BuildAttrsync builds cmd/attrsync with the race detector into dir and
// returns the executable's path. Call it from TestMain.
func BuildAttrsync(dir string) (string, error) {
	return build(dir, "attrsync", "-race")
}

// BuildAttrsyncPlain builds cmd/attrsync without the race detector into
// dir and returns the executable's path: the binary users run, for
// measuring its memory. The race detector's shadow memory is several times
// the heap it watches and would swamp what is measured.
func BuildAttrsyncPlain(dir string) (string, error) {
	return build(dir, "attrsync-plain")
}

func build(dir, name string, flags ...string) (string, error) {
	bin := filepath.Join(dir, name)
	args := append(append([]string{"build"}, flags...), "-o", bin, "github.com/attrsync/attrsync/cmd/attrsync")
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build attrsync: %w", err)
	}
	return bin, nil
}

// VmHWM returns the peak resident set size of process pid in KiB, as Linux
// keeps it in /proc/<pid>/status. It can be read only while the process
// runs: once it exited, the kernel no longer reports it.
func VmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/" + strconv.Itoa(pid) + "/status (the process exited?)")
}

// RunWithAttrsync is a TestMain body for packages that run the binary: it
// builds cmd/attrsync into a temporary directory, points *binary at it,
// runs the tests, cleans up and exits with their status.
func RunWithAttrsync(m *testing.M, binary *string) {
	dir, err := os.MkdirTemp("", "attrsync-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*binary, err = BuildAttrsync(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ReplaySummaryCount reads one count ("sent users", "stale messages", ...)
// from the summary attrsync replay prints.
func ReplaySummaryCount(t testing.TB, summary, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +(\d+)$`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("the summary has no %q line:\n%s", name, summary)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Proc is an attrsync process owned by one test. Its output goes to Log;
// the test's cleanup kills it if it still runs, and prints the end of the
// log when the test failed.
type Proc struct {
	// Log is the file the process writes stdout and stderr to.
	Log  string
	proc *Process
}

// StartProc starts binary with args, its environment plus env, writing its
// output to a new file in dir.
func StartProc(t testing.TB, binary, dir string, env []string, args ...string) *Proc {
	t.Helper()
	logPath := filepath.Join(dir, fmt.Sprintf("attrsync-%d.log", time.Now().UnixNano()))
	p, err := Launch(binary, logPath, append(os.Environ(), env...), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("attrsync log %s:\n%s", logPath, p.Tail(6000))
		}
	})
	return &Proc{Log: logPath, proc: p}
}

// Pid is the process's ID.
func (p *Proc) Pid() int { return p.proc.Pid() }

// Signal sends sig to the process.
func (p *Proc) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.proc.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGKILL)
	p.proc.Kill()
}

// Stop sends SIGTERM and returns the exit code once the process exits,
// failing the test if that takes longer than d.
func (p *Proc) Stop(t testing.TB, d time.Duration) int {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
	return p.Wait(t, d)
}

// Wait returns the exit code once the process exits by itself, failing the
// test if that takes longer than d.
func (p *Proc) Wait(t testing.TB, d time.Duration) int {
	t.Helper()
	code, err := p.proc.Wait(d)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Output is everything the process has written so far.
func (p *Proc) Output(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ReadyzURL is the /readyz address of a running attrsync, read from the
// "attrsync running" line of its JSON log.
func (p *Proc) ReadyzURL(t testing.TB) string {
	t.Helper()
	re := regexp.MustCompile(`"telemetry":"([^"]+)"`)
	var addr string
	WaitFor(t, 30*time.Second, "the telemetry address in the log", func() bool {
		m := re.FindStringSubmatch(p.Output(t))
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return "http://" + addr + "/readyz"
}

// Ready reports whether a readiness probe at url answers 200.
func Ready(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
