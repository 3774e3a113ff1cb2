package fieldcheck

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/attrsync/attrsync/internal/sim"
)

func attrs(pairs ...string) []mapping.Attribute {
	var out []mapping.Attribute
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, mapping.Attribute{To: pairs[i], Type: mapping.Type(pairs[i+1])})
	}
	return out
}

func TestCompare(t *testing.T) {
	project := map[string]string{
		"name": "string", "age": "long", "score": "double", "vip": "boolean", "signedUpAt": "date",
		"plan": "object", "plan.tier": "string", "home": "geo_location",
	}
	cases := []struct {
		declared, field string
		want            Severity // 0: fits
	}{
		{"string", "name", 0}, {"number", "score", 0}, {"boolean", "vip", 0}, {"date", "signedUpAt", 0}, {"object", "plan", 0},
		{"number", "age", Warning}, {"string", "signedUpAt", Warning}, {"date", "name", Warning}, {"object", "age", Warning},
		{"auto", "name", Warning}, {"auto", "age", Warning}, {"string", "home", Warning},
		{"number", "name", Conflict}, {"string", "age", Conflict}, {"boolean", "name", Conflict}, {"date", "vip", Conflict},
		{"string", "plan", Conflict}, {"number", "signedUpAt", Conflict}, {"boolean", "age", Conflict},
		{"number", "newField", 0},
	}
	for _, c := range cases {
		r := Compare(config.Iterable{Attributes: attrs(c.field, c.declared), CreateNewFields: true}, project)
		var got Severity
		if len(r.Findings) == 1 {
			got = r.Findings[0].Severity
		}
		if got != c.want || len(r.Findings) > 1 {
			t.Errorf("%s attribute for %s field %s: %v, want %v", c.declared, project[c.field], c.field, r.Findings, c.want)
		}
	}

	// Conflicts come first and name the field and both types; a missing
	// field is a warning only when Iterable would drop it.
	r := Compare(config.Iterable{Attributes: attrs("vip", "auto", "age", "string", "newField", "number")}, project)
	if len(r.Findings) != 3 || r.Findings[0].Field != "age" || r.Findings[0].Severity != Conflict {
		t.Fatalf("findings %v", r.Findings)
	}
	if s := r.Findings[0].String(); s != "age: attribute type string, Iterable field type long: Iterable refuses every value of type string for it" {
		t.Errorf("String() = %q", s)
	}
	if s := r.Findings[1].String(); !strings.Contains(s, "newField (type number): not a field of the project") || !strings.Contains(s, "create_new_fields") {
		t.Errorf("missing field: %q", s)
	}
	if !strings.Contains(r.Findings[2].Reason, "Declare type: boolean") {
		t.Errorf("auto warning gives no advice: %q", r.Findings[1].Reason)
	}
	var ce *ConflictError
	if err := r.Err(false); !errors.As(err, &ce) || len(ce.Conflicts) != 1 || !strings.Contains(err.Error(), "age: attribute type string, Iterable field type long") {
		t.Errorf("Err(false) = %v", err)
	}
	if err := r.Err(true); err != nil {
		t.Errorf("Err(allowed) = %v", err)
	}
	if len(r.Warnings()) != 2 || len(r.Conflicts()) != 1 {
		t.Errorf("warnings %v, conflicts %v", r.Warnings(), r.Conflicts())
	}
}

func TestCheckAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{APIKey: "fc-key", GetFieldsPerSecond: -1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	if err := s.SeedUser("a@example.com", "", map[string]any{"planTier": "pro", "age": 41, "signedUpAt": "2024-01-02 03:04:05 +00:00"}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Iterable{CreateNewFields: true, Attributes: []mapping.Attribute{
		{From: "plan.tier", To: "planTier", Type: "number"},
		{From: "age", To: "age", Type: "number"},
		{From: "signup_at", To: "signedUpAt", Type: "date"},
		{From: "first_name", To: "firstName", Type: "auto"},
	}}
	r, err := Check(t.Context(), iterable.New(srv.URL, "fc-key"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.ProjectFields != 3 || len(r.Conflicts()) != 1 || r.Conflicts()[0].Field != "planTier" || len(r.Warnings()) != 1 || r.Warnings()[0].Field != "age" {
		t.Errorf("report %+v", r)
	}
	if _, err := Check(t.Context(), iterable.New(srv.URL, "wrong"), cfg); !iterable.IsAuth(err) {
		t.Errorf("wrong key: %v", err)
	}
	// A 429 (another tool used the project's 3 getFields a second) is
	// retried.
	s.SetFaults(sim.Faults{Burst: 2, BurstStatus: 429, Endpoints: []string{sim.EndpointGetFields}})
	if r, err := Check(t.Context(), iterable.New(srv.URL, "fc-key"), cfg); err != nil || len(r.Conflicts()) != 1 {
		t.Errorf("after two 429s: %+v, %v", r, err)
	}

	// What the check predicts is what Iterable does: the conflicting
	// attribute's values are refused.
	_, err = iterable.New(srv.URL, "fc-key").BulkUpdate(t.Context(), iterable.BulkRequest{Users: []iterable.User{{
		ID:     change.Identifier{Kind: change.Email, Value: "b@example.com"},
		Fields: []change.Attr{{Name: "planTier", JSON: []byte("3")}},
	}}})
	if fields, ok := iterable.IsTypeMismatch(err); !ok || fields["planTier"].ExpectedType != "string" {
		t.Errorf("sending a number to planTier: %v", err)
	}
}
