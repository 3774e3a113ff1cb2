package iterable

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim/swagger"
)

func email(v string) change.Identifier  { return change.Identifier{Kind: change.Email, Value: v} }
func userID(v string) change.Identifier { return change.Identifier{Kind: change.UserID, Value: v} }

func attr(name, js string) change.Attr { return change.Attr{Name: name, JSON: []byte(js)} }

func TestEncodeBulkExactBody(t *testing.T) {
	t.Parallel()
	req := BulkRequest{
		Users: []User{
			{ID: email("ann@example.com"), Fields: []change.Attr{attr("firstName", `"Ann"`), attr("plan", `{"tier":"pro"}`), attr("phone", "null")}},
			{ID: userID("u-42"), Fields: []change.Attr{attr("score", "1.50")}},
		},
		CreateNewFields:    true,
		MergeNestedObjects: true,
	}
	want := `{"users":[` +
		`{"email":"ann@example.com","dataFields":{"firstName":"Ann","plan":{"tier":"pro"},"phone":null},"preferUserId":false,"mergeNestedObjects":true},` +
		`{"userId":"u-42","dataFields":{"score":1.50},"preferUserId":false,"mergeNestedObjects":true}` +
		`],"createNewFields":true}`
	if got := string(EncodeBulk(req)); got != want {
		t.Fatalf("EncodeBulk:\n got %s\nwant %s", got, want)
	}

	req.UpdateOnly, req.CreateNewFields, req.Users = true, false, []User{{ID: userID("x")}}
	want = `{"users":[{"userId":"x","dataFields":{},"preferUserId":false,"mergeNestedObjects":true}],"createNewFields":false,"updateOnly":true}`
	if got := string(EncodeBulk(req)); got != want {
		t.Fatalf("EncodeBulk with updateOnly:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeBulkEscapes(t *testing.T) {
	t.Parallel()
	names := []string{"quote\"d", `back\slash`, "ctl\x00\x01\x1f\n\r\t", "<html>&", "ünï😀", "bad\xff\xfeutf8", "sep\u2028\u2029"}
	for _, name := range names {
		body := EncodeBulk(BulkRequest{Users: []User{{ID: email(name), Fields: []change.Attr{attr(name, "1")}}}})
		var got struct {
			Users []struct {
				Email      string         `json:"email"`
				DataFields map[string]int `json:"dataFields"`
			} `json:"users"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%q: body %s is not JSON: %v", name, body, err)
		}
		// encoding/json is the reference: it too replaces each invalid byte.
		ref, _ := json.Marshal(name)
		var want string
		_ = json.Unmarshal(ref, &want)
		if got.Users[0].Email != want || got.Users[0].DataFields[want] != 1 {
			t.Errorf("%q round-tripped as %q / %v", name, got.Users[0].Email, got.Users[0].DataFields)
		}
	}
}

// TestUserSizeBoundsBody checks the batcher's arithmetic on random requests:
// exact with both per-user flags false, a safe upper bound otherwise.
func TestUserSizeBoundsBody(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		req := BulkRequest{
			CreateNewFields:    rng.IntN(2) == 0,
			MergeNestedObjects: rng.IntN(2) == 0,
			PreferUserID:       rng.IntN(2) == 0,
			UpdateOnly:         rng.IntN(2) == 0,
		}
		bound := EnvelopeSize(req)
		for range rng.IntN(5) {
			u := User{ID: email(randString(rng))}
			if rng.IntN(2) == 0 {
				u.ID = userID(randString(rng))
			}
			for range rng.IntN(4) {
				u.Fields = append(u.Fields, attr(randString(rng), `"`+strings.Repeat("v", rng.IntN(9))+`"`))
			}
			req.Users = append(req.Users, u)
			bound += UserSize(u) + 1
		}
		body := EncodeBulk(req)
		if !json.Valid(body) {
			t.Fatalf("case %d: invalid JSON %s", i, body)
		}
		exact := bound - min(len(req.Users), 1) // no comma after the last user
		switch {
		case !req.MergeNestedObjects && !req.PreferUserID && len(body) != exact:
			t.Fatalf("case %d: len(body) = %d, want exactly %d", i, len(body), exact)
		case len(body) > bound:
			t.Fatalf("case %d: len(body) = %d above the bound %d", i, len(body), bound)
		case EnvelopeSize(req) > MaxEnvelopeSize:
			t.Fatalf("case %d: EnvelopeSize %d above MaxEnvelopeSize %d", i, EnvelopeSize(req), MaxEnvelopeSize)
		}
	}
}

func randString(rng *rand.Rand) string {
	const alphabet = "aZ9.@_\"\\\n\x01é😀<"
	rs := []rune(alphabet)
	var b strings.Builder
	for range rng.IntN(12) {
		b.WriteRune(rs[rng.IntN(len(rs))])
	}
	return b.String()
}

// TestEncodeBulkMatchesSwagger validates the body against Iterable's own
// BulkUpdateUsersRequest definition.
func TestEncodeBulkMatchesSwagger(t *testing.T) {
	t.Parallel()
	for _, req := range []BulkRequest{
		{Users: []User{{ID: email("a@example.com"), Fields: []change.Attr{attr("n", "1"), attr("o", `{"x":[1,2]}`)}}}, CreateNewFields: true},
		{Users: []User{{ID: userID("u1")}, {ID: userID("u2"), Fields: []change.Attr{attr("s", "null")}}}, PreferUserID: true, MergeNestedObjects: true, UpdateOnly: true},
	} {
		if err := swagger.Validate(swagger.BulkUpdateUsersRequest, EncodeBulk(req)); err != nil {
			t.Errorf("%s", err)
		}
	}
}
