package iterable

import (
	"slices"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
)

// TestFilteredOutPerUser: with createNewFields false Iterable drops fields
// the project does not know and lists them once for the whole request. Each
// user's outcome must say which of its own fields were not stored, so that
// they are not recorded as accepted.
func TestFilteredOutPerUser(t *testing.T) {
	t.Parallel()
	s, c := newSim(t)
	seed := BulkRequest{CreateNewFields: true, Users: []User{
		{ID: email("seed@example.com"), Fields: []change.Attr{attr("known", "1"), attr("plan", `{"tier":"pro"}`)}},
	}}
	if _, err := c.BulkUpdate(t.Context(), seed); err != nil {
		t.Fatal(err)
	}
	ann := User{ID: email("ann@example.com"), Fields: []change.Attr{attr("known", "2"), attr("unknown", `"x"`)}}
	bob := User{ID: email("bob@example.com"), Fields: []change.Attr{attr("plan", `{"tier":"team","addon":"sso"}`)}}
	cid := User{ID: email("cid@example.com"), Fields: []change.Attr{attr("known", "3"), attr("plan", `{"tier":"free"}`)}}
	res, err := c.BulkUpdate(t.Context(), BulkRequest{CreateNewFields: false, Users: []User{ann, bob, cid}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u    User
		want []string
	}{{ann, []string{"unknown"}}, {bob, []string{"plan"}}, {cid, nil}} {
		if got := res.FilteredOut(tc.u); !slices.Equal(got, tc.want) {
			t.Errorf("%s: filtered out %v, want %v (request lists %v)", tc.u.ID, got, tc.want, res.FilteredOutFields)
		}
	}
	// The simulator's end state agrees: what FilteredOut names is not there.
	if p, _ := s.Profile("ann@example.com"); p.DataFields["unknown"] != nil {
		t.Errorf("ann's profile holds unknown: %v", p.DataFields)
	}
	if p, _ := s.Profile("bob@example.com"); p.DataFields["plan"].(map[string]any)["addon"] != nil {
		t.Errorf("bob's profile holds plan.addon: %v", p.DataFields)
	}
}
