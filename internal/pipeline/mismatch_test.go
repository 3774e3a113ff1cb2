package pipeline_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestTypeMismatchIsNarrowedToOffenders fixes planTier as a number in the
// project, then sends one batch where some users carry a string for it:
// those users are dead-lettered (type_mismatch), the others are accepted in
// the same pass. With the offending values named by Iterable, and without
// (then the request is bisected).
func TestTypeMismatchIsNarrowedToOffenders(t *testing.T) {
	for _, named := range []bool{true, false} {
		t.Run(fmt.Sprintf("offending_value_named=%v", named), func(t *testing.T) {
			e := newEnv(t, 1, sim.Options{})
			if err := e.Sim.SeedUser("seed@example.com", "", map[string]any{"planTier": 1}); err != nil {
				t.Fatal(err)
			}
			if !named {
				e.WrapIterable(anonymousMismatch)
			}
			var msgs []change.Message
			offenders := map[string]bool{}
			for i := range 24 {
				email := fmt.Sprintf("u%02d@example.com", i)
				var tier any = i
				if i%5 == 2 {
					tier = fmt.Sprintf("tier-%d", i%3) // three distinct offending values
					offenders[email] = true
				}
				msgs = append(msgs, testenv.Upsert(i, testenv.Row{"email": email, "first_name": "N", "plan": map[string]any{"tier": tier}, "version": 1}))
			}
			e.Kafka.Produce(topic, msgs...)
			r := e.start(e.config("g", "batch: {max_users: 50, max_wait: 500ms}"))
			r.WaitFinished(int64(len(msgs)))
			e.waitCommitted("g")
			r.Close()

			classes, dead := e.deadByClass()
			if classes[change.ClassTypeMismatch] != len(offenders) || len(dead) != len(offenders) {
				t.Errorf("dead letters %v, want %d type_mismatch", classes, len(offenders))
			}
			for _, d := range dead {
				if !offenders[emailOf(d.Value)] {
					t.Errorf("dead-lettered %s, which sent a number", emailOf(d.Value))
				}
			}
			for i := range 24 {
				email := fmt.Sprintf("u%02d@example.com", i)
				_, ok := e.Sim.Profile(email)
				if ok == offenders[email] {
					t.Errorf("%s: in Iterable %v, offender %v", email, ok, offenders[email])
				}
			}
			for _, req := range testenv.BulkRequests(e.Sim) {
				if req.Endpoint != sim.EndpointBulkUpdate {
					t.Errorf("narrowing used %s; only bulkUpdate may write", req.Endpoint)
				}
			}
		})
	}
}

// emailOf digs the email out of a Debezium test message.
func emailOf(value []byte) string {
	_, rest, _ := bytes.Cut(value, []byte(`"email":"`))
	email, _, _ := bytes.Cut(rest, []byte(`"`))
	return string(email)
}

// anonymousMismatch strips the validation errors from type-mismatch
// answers, as an Iterable answer that names no field would be.
func anonymousMismatch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if rec.Code == http.StatusBadRequest && strings.Contains(rec.Body.String(), "RequestFieldsTypesMismatched") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"msg":"types mismatched","code":"RequestFieldsTypesMismatched","params":null}`)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}
