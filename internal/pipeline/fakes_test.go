package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// The unit tests run the real pipeline in a synctest bubble against fakes:
// a message's key names its user and its value is the user's new "v", so a
// test reads like the stream it is about. State is internal/state over
// memory: the real records and compare-and-set, without a network.

// msg is the message at offset off of partition part setting user's v.
func msg(part int, off int64, user string, v int) change.Message {
	return change.Message{
		Pos: change.Position{Topic: "users", Partition: part, Offset: off},
		Key: []byte(user), Value: []byte(strconv.Itoa(v)),
	}
}

// fakeCodec decodes msg's messages and maps them: value "bad" does not
// decode, "unconvertible" does not map.
type fakeCodec struct{}

// Recycle has nothing to reuse: fakeCodec's rows hold maps.
func (fakeCodec) Recycle(change.Row) {}

func (fakeCodec) DecodeContext(_ context.Context, key, value []byte) (change.Row, error) {
	if string(value) == "bad" {
		return change.Row{}, change.Fail(change.ClassDecode, "not a number")
	}
	if row, ok := decodeRowMsg(value); ok {
		return row, nil
	}
	return change.Row{Op: change.OpUpsert, Fields: map[string]any{"user": string(key), "v": string(value)}}, nil
}

func (fakeCodec) Map(row change.Row, pos change.Position) (change.UserChange, error) {
	if _, ok := row.Fields["email"]; ok || row.Op == change.OpDelete {
		return mapRowMsg(row, pos), nil
	}
	v := row.Fields["v"].(string)
	if v == "unconvertible" {
		return change.UserChange{}, change.Fail(change.ClassConvert, "v is not a number")
	}
	return change.UserChange{
		User:  change.Identifier{Kind: change.UserID, Value: row.Fields["user"].(string)},
		Attrs: []change.Attr{{Name: "v", JSON: []byte(v)}},
		Pos:   pos,
	}, nil
}

// sent is one bulkUpdate request as the fake Iterable received it.
type sent struct {
	at    time.Time
	users map[string]int // user → v
}

// fakeAPI is Iterable: it keeps each user's v, records every request, and
// answers through answer when set (nil error: accept).
type fakeAPI struct {
	mu sync.Mutex
	rowsAPI
	latency  time.Duration
	answer   func(req iterable.BulkRequest) (iterable.BulkResult, error)
	exists   func(id change.Identifier) (bool, error)
	keyOK    func() bool
	profiles map[string]int
	requests []sent
	inFlight map[string]bool
	overlap  int // requests that carried a user another request had out
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{profiles: map[string]int{}, inFlight: map[string]bool{}}
}

func (f *fakeAPI) BulkUpdate(ctx context.Context, req iterable.BulkRequest) (iterable.BulkResult, error) {
	f.mu.Lock()
	users := map[string]int{}
	for _, u := range req.Users {
		v, _ := strconv.Atoi(string(u.Fields[0].JSON))
		users[u.ID.Value] = v
		if f.inFlight[u.ID.Value] {
			f.overlap++
		}
		f.inFlight[u.ID.Value] = true
	}
	f.requests = append(f.requests, sent{at: time.Now(), users: users})
	answer := f.answer
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		for u := range users {
			delete(f.inFlight, u)
		}
		f.mu.Unlock()
	}()
	if f.latency > 0 {
		if err := sleep(ctx, f.latency); err != nil {
			return iterable.BulkResult{}, err
		}
	}
	if f.keyOK != nil && !f.keyOK() {
		return iterable.BulkResult{}, &iterable.APIError{Status: 401, Code: iterable.CodeBadAPIKey, Endpoint: iterable.EndpointBulkUpdate}
	}
	res := iterable.BulkResult{SuccessCount: len(req.Users)}
	var err error
	if answer != nil {
		res, err = answer(req)
	}
	if err == nil {
		f.mu.Lock()
		for _, u := range req.Users {
			if _, rejected := res.Rejected[u.ID]; !rejected {
				f.profiles[u.ID.Value] = users[u.ID.Value]
				f.writes = append(f.writes, write{user: u.ID.Value, v: users[u.ID.Value], at: time.Now()})
			}
		}
		f.mu.Unlock()
	}
	return res, err
}

func (f *fakeAPI) UserExists(_ context.Context, id change.Identifier) (bool, error) {
	f.mu.Lock()
	f.lookups++
	f.mu.Unlock()
	if f.exists != nil {
		return f.exists(id)
	}
	return true, nil
}

func (f *fakeAPI) CheckKey(context.Context) error {
	if f.keyOK != nil && !f.keyOK() {
		return &iterable.APIError{Status: 401, Code: iterable.CodeBadAPIKey, Endpoint: iterable.EndpointGetByEmail}
	}
	return nil
}

func (f *fakeAPI) sentRequests() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.requests...)
}

func (f *fakeAPI) profile(user string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.profiles[user]
	return v, ok
}

// spacedPacer grants a turn every interval, as ratelimit's limiters do.
type spacedPacer struct {
	interval time.Duration
	mu       sync.Mutex
	next     time.Time
	turns    []time.Time
}

func (p *spacedPacer) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	p.mu.Lock()
	at := p.next
	if at.Before(start) {
		at = start
	}
	p.next = at.Add(p.interval)
	p.mu.Unlock()
	if err := sleep(ctx, at.Sub(start)); err != nil {
		return time.Since(start), err
	}
	p.mu.Lock()
	p.turns = append(p.turns, time.Now())
	p.mu.Unlock()
	return time.Since(start), nil
}

func (p *spacedPacer) Throttled(context.Context, time.Duration, int) error { return nil }
func (p *spacedPacer) Succeeded(context.Context) error                     { return nil }

// fakeDLQ keeps dead letters; fail, when set, fails writes.
type fakeDLQ struct {
	mu   sync.Mutex
	fail func() bool
	msgs []change.Message
}

func (d *fakeDLQ) Write(_ context.Context, msgs []change.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil && d.fail() {
		return fmt.Errorf("broker unavailable")
	}
	d.msgs = append(d.msgs, msgs...)
	return nil
}

func (d *fakeDLQ) records() []change.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]change.Message(nil), d.msgs...)
}

// finishes records every Finish call.
type finishes struct {
	mu   sync.Mutex
	seen map[change.Position]int
}

func (f *finishes) Finish(pos change.Position) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[change.Position]int{}
	}
	f.seen[pos]++
}

// count is how many messages were finished.
func (f *finishes) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// finished reports whether the message at pos was finished.
func (f *finishes) finished(pos change.Position) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[pos] > 0
}

// all reports whether every message of msgs was finished.
func (f *finishes) all(msgs []change.Message) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range msgs {
		if f.seen[m.Pos] == 0 {
			return false
		}
	}
	return true
}

// rig is one pipeline over fakes.
type rig struct {
	t     *testing.T
	p     *Pipeline
	api   *fakeAPI
	pacer *spacedPacer
	dlq   *fakeDLQ
	store *state.Store
	fin   *finishes
}

// newRig builds a pipeline with cfg (MaxWait 100ms, MaxUsers 100 unless
// set) pacing bulkUpdate at 5 per second.
func newRig(t *testing.T, cfg Config) *rig {
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 100 * time.Millisecond
	}
	if cfg.MaxUsers == 0 {
		cfg.MaxUsers = 100
	}
	if cfg.RetryInitial == 0 {
		cfg.RetryInitial, cfg.RetryMax = 100*time.Millisecond, time.Second
	}
	r := &rig{
		t: t, api: newFakeAPI(), pacer: &spacedPacer{interval: 200 * time.Millisecond},
		dlq: &fakeDLQ{}, store: state.NewInMemory("test", []string{"v"}), fin: &finishes{},
	}
	// PIPELINE_TEST_LOG=1 shows the pipeline's logs, debug included.
	var w io.Writer = io.Discard
	if os.Getenv("PIPELINE_TEST_LOG") != "" {
		w = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.p = New(cfg, Deps{Decoder: fakeCodec{}, Mapper: fakeCodec{}, Store: r.store, Index: r.store, API: r.api, Pacer: r.pacer, DLQ: r.dlq, Log: log})
	t.Cleanup(r.p.Close)
	return r
}

// feed hands msgs to a session as the runtime would, one goroutine per
// partition, and returns once all were taken.
func (r *rig) feed(ctx context.Context, s *Session, msgs []change.Message) {
	byPart := map[int][]change.Message{}
	for _, m := range msgs {
		byPart[m.Pos.Partition] = append(byPart[m.Pos.Partition], m)
	}
	var wg sync.WaitGroup
	for _, ms := range byPart {
		wg.Go(func() {
			for _, m := range ms {
				if !s.Handle(ctx, m) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// sync runs msgs through one session until every one is finished, then
// drains it.
func (r *rig) sync(msgs []change.Message) {
	r.t.Helper()
	ctx, stop := context.WithCancel(r.t.Context())
	s := r.p.Start(ctx, nil, r.fin)
	r.feed(ctx, s, msgs)
	r.waitFinished(msgs)
	stop()
	s.Drain(r.t.Context())
}

// waitFinished waits (in the bubble's time) until every message of msgs is
// finished, and fails the test naming those that are not after an hour.
func (r *rig) waitFinished(msgs []change.Message) {
	r.t.Helper()
	deadline := time.Now().Add(time.Hour)
	for !r.fin.all(msgs) {
		if time.Now().After(deadline) {
			r.fin.mu.Lock()
			var left []string
			for _, m := range msgs {
				if r.fin.seen[m.Pos] == 0 {
					left = append(left, fmt.Sprintf("%v (%s=%s)", m.Pos, m.Key, m.Value))
				}
			}
			r.fin.mu.Unlock()
			r.t.Fatalf("%d messages never finished: %v; stats %+v", len(left), left, r.p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkFinishedOnce fails the test unless every message of msgs was
// finished exactly once.
func (r *rig) checkFinishedOnce(msgs []change.Message) {
	r.t.Helper()
	r.fin.mu.Lock()
	defer r.fin.mu.Unlock()
	for _, m := range msgs {
		if n := r.fin.seen[m.Pos]; n != 1 {
			r.t.Errorf("%v finished %d times", m.Pos, n)
		}
	}
}

// decodeRejects answers a 200 naming users as failedUpdates.invalidUserIds.
func rejectUsers(users ...string) func(iterable.BulkRequest) (iterable.BulkResult, error) {
	return func(req iterable.BulkRequest) (iterable.BulkResult, error) {
		res := iterable.BulkResult{Rejected: map[change.Identifier]iterable.Rejection{}}
		for _, u := range req.Users {
			for _, bad := range users {
				if u.ID.Value == bad {
					res.Rejected[u.ID] = iterable.Rejection{Bucket: "invalidUserIds", Reason: "invalid userId"}
				}
			}
		}
		return res, nil
	}
}

// typeMismatch is Iterable's whole-request 400 for a value of the wrong type.
func typeMismatch(field string, offending any) error {
	v, _ := json.Marshal(offending)
	params, _ := json.Marshal(map[string]any{"validationErrors": map[string]any{
		"proj:::" + field: map[string]any{"expectedType": "long", "incomingTypes": []string{"string"}, "offendingValue": json.RawMessage(v)},
	}})
	return &iterable.APIError{Status: 400, Code: iterable.CodeTypeMismatch, Params: params, Endpoint: iterable.EndpointBulkUpdate}
}
