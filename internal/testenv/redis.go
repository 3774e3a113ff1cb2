package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Redis is a redis-server process owned by one test.
type Redis struct {
	// Addr is host:port on loopback.
	Addr string
	// URL is Addr as a redis:// URL for database 0.
	URL string

	t   testing.TB
	dir string
	cmd *exec.Cmd
}

// StartRedis starts a redis-server on a free loopback port with its own
// data directory, and stops it when the test ends. It fails the test when
// redis-server is not installed: CI installs it (see .ci/run), and a test
// that silently skipped would prove nothing.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, dir: t.TempDir()}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its address, with no data: a restart loses
// all state, as a Redis without persistence would.
func (r *Redis) Start() {
	r.t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		r.t.Fatalf("redis-server not found (apt-get install -y redis-server): %v", err)
	}
	if r.Addr == "" {
		r.Addr = freeAddr(r.t)
		r.URL = "redis://" + r.Addr + "/0"
	}
	host, port, _ := net.SplitHostPort(r.Addr)
	r.cmd = exec.Command(bin,
		"--bind", host, "--port", port, "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no",
		"--logfile", filepath.Join(r.dir, "redis.log"),
		// The state layout packs users into small hashes; these keep them in
		// Redis's compact listpack encoding (see README, "Redis sizing").
		"--hash-max-listpack-entries", "1024", "--hash-max-listpack-value", "128",
	)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	if err := waitTCP(r.Addr, 10*time.Second); err != nil {
		r.t.Fatalf("redis-server on %s: %v", r.Addr, err)
	}
	if err := waitPing(r.Addr, 5*time.Second); err != nil {
		r.t.Fatalf("redis-server on %s: %v", r.Addr, err)
	}
}

// Stop kills the server (SIGKILL: nothing is saved) and waits for it.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Dir is the server's working directory.
func (r *Redis) Dir() string { return filepath.Clean(r.dir) }

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitTCP(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %s: %w", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPing waits until the server answers PING; it can accept connections
// while still loading.
func waitPing(addr string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		var dialer net.Dialer
		c, err := dialer.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no PONG: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
