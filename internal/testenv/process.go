package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a running attrsync binary with its output in a file. Tests
// use it through Proc, which ties it to a test; the bench, which has no
// testing.T, uses it directly.
type Process struct {
	// Log is the file the process writes stdout and stderr to.
	Log string
	// Started is when the process was started.
	Started time.Time
	cmd     *exec.Cmd
	done    chan struct{}
}

// Launch starts binary with args, writing its output to the new file log.
// env is the whole environment of the process; nil inherits this one's.
func Launch(binary, log string, env []string, args ...string) (*Process, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &Process{Log: log, Started: time.Now(), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// Wait returns the exit code once the process ends, or an error if that
// takes longer than d.
func (p *Process) Wait(d time.Duration) (int, error) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(d):
		return 0, fmt.Errorf("attrsync did not exit within %s", d)
	}
}

// Kill ends the process with SIGKILL if it still runs, and waits until it
// is gone.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Tail is the last n bytes of the process's output, for messages.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// PeakRSS is the process's peak resident set size in KiB (VmHWM), readable
// only while it runs.
func (p *Process) PeakRSS() (int64, error) { return VmHWM(p.Pid()) }
