package testenv

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
)

// Stream is a generated history of a users table and the row each user
// ends with.
type Stream struct {
	Msgs []change.Message
	Last map[string]Row // by lowercased email
}

// History generates versions rounds of events for users, user by user in
// each round, so each user's events are in order on its partition. About a
// third of the updates change no mapped column. Rows carry first_name,
// plan.tier, version and signup_at, and an unmapped last_login.
func History(users, versions int, seed uint64) Stream {
	plans := []string{"free", "pro", "team", "enterprise"}
	rng := rand.New(rand.NewPCG(seed, 1))
	s := Stream{Last: map[string]Row{}}
	rows := make([]Row, users)
	for v := 1; v <= versions; v++ {
		for u := range users {
			email := fmt.Sprintf("User%04d@Example.com", u)
			row := rows[u]
			if row == nil || rng.IntN(3) > 0 {
				row = Row{
					"id": u, "email": email,
					"first_name": fmt.Sprintf("name-%d-%d", u, rng.IntN(4)),
					"plan":       map[string]any{"tier": plans[rng.IntN(len(plans))]},
					"version":    v,
					"signup_at":  1700000000000 + int64(u)*1000,
				}
			}
			row = Clone(row)
			row["last_login"] = rng.Int64() // unmapped: changes without a sync
			rows[u] = row
			s.Msgs = append(s.Msgs, Upsert(u, row))
			s.Last[strings.ToLower(email)] = row
		}
	}
	return s
}

// StreamMapping is the iterable.identifier and iterable.attributes of a
// sync of History's rows, as YAML lines to place under "iterable:". It is
// the one mapping CheckProfiles knows how to check.
const StreamMapping = `  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: plan.tier, to: planTier}
    - {from: version, to: version, type: number}
    - {from: signup_at, to: signedUpAt, type: date}
`

// StreamFields are StreamMapping's Iterable fields in mapping order: the
// layout of the state it writes.
func StreamFields() []string { return []string{"firstName", "planTier", "version", "signedUpAt"} }

// Clone copies a row (shallowly).
func Clone(r Row) Row {
	out := Row{}
	for k, v := range r {
		out[k] = v
	}
	return out
}

// CheckProfiles asserts that Iterable holds exactly each user's last values
// (firstName, planTier, version, signedUpAt) and that no older value ever
// overwrote a newer one (the simulator must track the "version" field).
func CheckProfiles(t testing.TB, s *sim.Server, want map[string]Row) {
	t.Helper()
	profiles := s.Profiles()
	if len(profiles) != len(want) {
		t.Errorf("Iterable has %d profiles, want %d", len(profiles), len(want))
	}
	bad := 0
	for email, row := range want {
		p, ok := profiles[email]
		if !ok {
			t.Errorf("%s: no profile", email)
			continue
		}
		f := p.DataFields
		tier := row["plan"].(map[string]any)["tier"]
		if f["firstName"] != row["first_name"] || f["planTier"] != tier || fmt.Sprint(f["version"]) != fmt.Sprint(row["version"]) || f["signedUpAt"] == nil {
			if bad++; bad <= 10 {
				t.Errorf("%s: Iterable has firstName=%v planTier=%v version=%v signedUpAt=%v, want %v %v %v",
					email, f["firstName"], f["planTier"], f["version"], f["signedUpAt"], row["first_name"], tier, row["version"])
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d profiles differ in all", bad)
	}
	if n := s.Stats().OrderRegressions; n != 0 {
		t.Errorf("%d order regressions: an older value overwrote a newer one", n)
	}
}

// BulkRequests returns the bulkUpdate requests the simulator received, in
// order: the writes, without lookups and other reads.
func BulkRequests(s *sim.Server) []sim.Request {
	var out []sim.Request
	for _, r := range s.Requests() {
		if r.Endpoint == sim.EndpointBulkUpdate {
			out = append(out, r)
		}
	}
	return out
}
