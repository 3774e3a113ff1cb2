// Command iterable-sim serves the Iterable API simulator (internal/sim) over
// HTTP for development, black-box tests, benchmarks and the demo.
//
//	iterable-sim -listen 127.0.0.1:8089 -api-key KEY
//
// The key may come from ITERABLE_API_KEY instead of the flag; it is never
// logged. Admin endpoints (profiles, stats, faults, …) are under /_sim/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "iterable-sim:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks configuration mistakes, which exit with status 2.
type usageError struct{ error }

func run(args []string) error {
	fs := flag.NewFlagSet("iterable-sim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8089", "address to listen on")
	apiKey := fs.String("api-key", "", "the project's API key (default $ITERABLE_API_KEY)")
	bulkRPS := fs.Float64("bulk-rps", sim.DefaultBulkUpdatePerSecond, "bulkUpdate requests per second (negative: unlimited)")
	lookupRPS := fs.Float64("lookup-rps", sim.DefaultLookupPerSecond, "requests per second per lookup endpoint (negative: unlimited)")
	tolerance := fs.Duration("rate-tolerance", sim.DefaultRateTolerance, "how early relative to an even pace a request may arrive")
	getFieldsRPS := fs.Float64("getfields-rps", sim.DefaultGetFieldsPerSecond, "getFields requests per second (negative: unlimited)")
	deleteRPS := fs.Float64("delete-rps", sim.DefaultDeletePerSecond, "requests per second per delete endpoint (negative: unlimited)")
	updateEmailRPS := fs.Float64("update-email-rps", 0, "updateEmail requests per second (0: unlimited; Iterable states none)")
	exportRPM := fs.Float64("export-per-minute", sim.DefaultExportPerMinute, "export requests per minute (negative: unlimited)")
	deleteDelay := fs.Duration("delete-delay", sim.DefaultDeleteDelay, "how long a deleted user stays before the asynchronous delete takes effect (0: at once)")
	exportBySignup := fs.Bool("export-by-signup-date", false, "select exported users by signupDate instead of profileUpdatedAt")
	retryAfter := fs.Bool("retry-after", false, "send Retry-After on 429 answers")
	rateParams := fs.Bool("rate-limit-params", false, "send params rateLimitLimit, rateLimitRemaining and rateLimitReset on 429 answers")
	createNew := fs.Bool("create-new-fields", true, "project setting: create unrecognized fields (false: drop them)")
	updateOnly := fs.Bool("update-only-enabled", false, "honour bulkUpdate's account-enabled updateOnly flag")
	versionField := fs.String("version-field", "", "numeric data field whose decrease counts as an order regression")
	maxBody := fs.Int("max-body-bytes", sim.DefaultMaxBodyBytes, "bulkUpdate body limit in bytes (negative: unlimited)")
	discard := fs.Bool("discard-bodies", false, "do not keep decoded bulkUpdate bodies in the request log")
	dump := fs.String("dump-profiles", "", "write all profiles as JSON to this file on shutdown")
	logLevel := fs.String("log-level", "info", "debug | info | warn | error")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{fmt.Errorf("-log-level: %w", err)}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	key := *apiKey
	if key == "" {
		key = os.Getenv("ITERABLE_API_KEY")
	}
	if key == "" {
		return usageError{errors.New("an API key is required: -api-key or ITERABLE_API_KEY")}
	}

	srv := sim.New(sim.Options{
		APIKey:               key,
		BulkUpdatePerSecond:  zeroIsUnlimited(*bulkRPS),
		LookupPerSecond:      zeroIsUnlimited(*lookupRPS),
		RateTolerance:        *tolerance,
		GetFieldsPerSecond:   zeroIsUnlimited(*getFieldsRPS),
		DeletePerSecond:      zeroIsUnlimited(*deleteRPS),
		UpdateEmailPerSecond: max(*updateEmailRPS, 0),
		ExportPerMinute:      zeroIsUnlimited(*exportRPM),
		DeleteDelay:          zeroIsImmediate(*deleteDelay),
		ExportBySignupDate:   *exportBySignup,
		RetryAfter:           *retryAfter,
		RateLimitParams:      *rateParams,
		CreateNewFields:      createNew,
		UpdateOnlyEnabled:    *updateOnly,
		VersionField:         *versionField,
		MaxBodyBytes:         *maxBody,
		DiscardBodies:        *discard,
		Logger:               log,
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Info("iterable-sim listening", "addr", ln.Addr().String(),
		"bulk_rps", *bulkRPS, "lookup_rps", *lookupRPS, "create_new_fields", *createNew,
		"update_only_enabled", *updateOnly, "version_field", *versionField, "api_key_set", true)

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if *dump != "" {
		if err := dumpProfiles(srv, *dump); err != nil {
			return err
		}
		log.Info("profiles written", "path", *dump)
	}
	st := srv.Stats()
	log.Info("stopped", "profiles", st.Profiles, "users_created", st.UsersCreated,
		"users_updated", st.UsersUpdated, "too_many_requests", st.TooManyRequests)
	return nil
}

// zeroIsUnlimited maps the flag's "0" to unlimited: sim.Options reads 0 as
// "default", but on the command line the default is already spelled out.
func zeroIsUnlimited(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}

// zeroIsImmediate maps the flag's "0" to sim.Options' "at once" (negative).
func zeroIsImmediate(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func dumpProfiles(srv *sim.Server, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("dump profiles: %w", err)
	}
	if err := srv.WriteProfiles(f); err != nil {
		f.Close()
		return fmt.Errorf("dump profiles: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dump profiles: %w", err)
	}
	return nil
}
