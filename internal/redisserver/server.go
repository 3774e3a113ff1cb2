// Package redisserver runs a real redis-server as a child process on a free
// loopback port, configured the way attrsync's state layout expects. Tests
// use it through internal/testenv; the benchmark command uses it directly,
// since it has no testing.TB to report through.
package redisserver

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Server is one redis-server process with its own data directory. It keeps
// its address across Stop and Start, so a caller can simulate a restart of a
// Redis without persistence.
type Server struct {
	// Addr is host:port on loopback.
	Addr string
	// URL is Addr as a redis:// URL for database 0.
	URL string
	// Dir is the server's working directory; its log is Dir/redis.log.
	Dir string
	// Args are further redis-server arguments, given after attrsync's own
	// (for example "--cluster-enabled", "yes" for a cluster node).
	Args []string

	cmd *exec.Cmd
}

// New picks a free loopback port for a server working in dir (which must
// exist) without starting it.
func New(dir string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return &Server{Addr: addr, URL: "redis://" + addr + "/0", Dir: dir}, nil
}

// Start (re)starts the server on its address, with no data, and waits until
// it answers PING. It fails when redis-server is not installed.
func (s *Server) Start() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server not found (apt-get install -y redis-server): %w", err)
	}
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("redis-server address %q: %w", s.Addr, err)
	}
	args := append([]string{
		"--bind", host, "--port", port, "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log"),
		// The state layout packs users into small hashes; these keep them in
		// Redis's compact listpack encoding (see README, "Redis sizing").
		"--hash-max-listpack-entries", "1024", "--hash-max-listpack-value", "128",
	}, s.Args...)
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fmt.Errorf("start redis-server: %w", err)
	}
	if err := waitTCP(s.Addr, 10*time.Second); err != nil {
		s.Stop()
		return fmt.Errorf("redis-server on %s: %w", s.Addr, err)
	}
	if err := waitPing(s.Addr, 5*time.Second); err != nil {
		s.Stop()
		return fmt.Errorf("redis-server on %s: %w", s.Addr, err)
	}
	return nil
}

// Stop kills the server (SIGKILL: nothing is saved) and waits for it. It is
// a no-op when the server is not running.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// freeAddr returns a loopback address whose port was free a moment ago,
// below the kernel's ephemeral range: a server keeps its port across a
// restart, and a port from that range (what port 0 would give) can be
// taken meanwhile as the local port of a client's new connection.
func freeAddr() (string, error) {
	low := ephemeralLow()
	if low <= 11024 {
		// No room below the range: any free port, as port 0 gives.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		return l.Addr().String(), nil
	}
	for range 200 {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(10000+rand.IntN(low-10000))))
		if err != nil {
			continue
		}
		defer l.Close()
		return l.Addr().String(), nil
	}
	return "", fmt.Errorf("find a free port: none of 200 tried below %d was free", low)
}

// ephemeralLow is where Linux's range of ports for outgoing connections
// starts (its default, 32768, where it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return low
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
