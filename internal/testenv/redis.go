package testenv

import (
	"testing"

	"github.com/attrsync/attrsync/internal/redisserver"
)

// Redis is a redis-server process owned by one test.
type Redis struct {
	// Addr is host:port on loopback.
	Addr string
	// URL is Addr as a redis:// URL for database 0.
	URL string

	t   testing.TB
	srv *redisserver.Server
}

// StartRedis starts a redis-server on a free loopback port with its own
// data directory, and stops it when the test ends. It fails the test when
// redis-server is not installed: CI installs it (see .ci/run), and a test
// that silently skipped would prove nothing.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	srv, err := redisserver.New(t.TempDir())
	if err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	r := &Redis{Addr: srv.Addr, URL: srv.URL, t: t, srv: srv}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its address, with no data: a restart loses
// all state, as a Redis without persistence would.
func (r *Redis) Start() {
	r.t.Helper()
	if err := r.srv.Start(); err != nil {
		r.t.Fatalf("%v", err)
	}
}

// Stop kills the server (SIGKILL: nothing is saved) and waits for it.
func (r *Redis) Stop() { r.srv.Stop() }
