package telemetry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness says whether the process can make progress now, and why.
type Readiness interface {
	Readiness(ctx context.Context) (ready bool, why string)
}

// readyTimeout bounds one /readyz answer.
const readyTimeout = 2 * time.Second

// Server serves /metrics, /healthz and /readyz.
type Server struct {
	srv  *http.Server
	addr net.Addr
}

// Serve listens on addr and serves, in the background:
//   - /metrics: every metric, in the Prometheus text format;
//   - /healthz: 200 while the process is alive;
//   - /readyz: 200 when ready says so, else 503, with ready's reasons.
func (t *Telemetry) Serve(addr string, ready Readiness) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok: attrsync is running")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		ok, why := ready.Readiness(ctx)
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: l.Addr()}
	go func() {
		if err := s.srv.Serve(l); err != nil && err != http.ErrServerClosed {
			t.log.Error("telemetry server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops serving.
func (s *Server) Close() error { return s.srv.Close() }
