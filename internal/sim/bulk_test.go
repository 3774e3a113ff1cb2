package sim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	_, base := newSim(t, Options{})
	body := mustJSON(t, users(map[string]any{"email": "a@example.com"}))
	url := base + "/api/users/bulkUpdate"

	for name, key := range map[string]string{"missing": "", "wrong": "wrong-secret-9c1d"} {
		t.Run(name, func(t *testing.T) {
			r := doReq(t, http.MethodPost, url, key, body)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", r.status)
			}
			code, params := apiErr(t, r)
			if code != "BadApiKey" {
				t.Errorf("code %q, want BadApiKey", code)
			}
			if params["endpoint"] != "/api/users/bulkUpdate" || params["ip"] == nil {
				t.Errorf("params %v, want ip and endpoint", params)
			}
			if key != "" && bytes.Contains(r.body, []byte(key)) {
				t.Errorf("401 body echoes the key: %s", r.body)
			}
		})
	}

	t.Run("Api_Key header", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header["Api_Key"] = []string{testKey} // as a client writes it, uncanonicalised
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d with Api_Key, want 200", res.StatusCode)
		}
	})

	t.Run("no key configured accepts nothing", func(t *testing.T) {
		s := New(Options{BulkUpdatePerSecond: -1})
		for _, key := range []string{"", "anything"} {
			req, _ := http.NewRequest(http.MethodGet, "/api/users/getByEmail?email=a@example.com", nil)
			if key != "" {
				req.Header.Set("Api-Key", key)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("key %q: status %d, want 401", key, w.Code)
			}
		}
	})
}

func TestBulkCreateThenUpdate(t *testing.T) {
	s, base := newSim(t, Options{})
	got := bulkOK(t, base, users(
		map[string]any{"email": "Ann@Example.COM", "dataFields": map[string]any{"firstName": "Ann", "age": 30}},
		map[string]any{"userId": "u-2", "dataFields": map[string]any{"firstName": "Bob"}},
	))
	if got.SuccessCount != 2 || got.FailCount != 0 {
		t.Fatalf("success %d fail %d, want 2/0", got.SuccessCount, got.FailCount)
	}
	if want := []string{"age", "firstName"}; !reflect.DeepEqual(got.CreatedFields, want) {
		t.Errorf("createdFields %v, want %v", got.CreatedFields, want)
	}

	ann := mustProfile(t, s, "ann@example.com")
	if ann.Email != "ann@example.com" {
		t.Errorf("email stored as %q, want lowercased", ann.Email)
	}
	if want := map[string]any{"firstName": "Ann", "age": int64(30)}; !reflect.DeepEqual(ann.DataFields, want) {
		t.Errorf("fields %#v, want %#v", ann.DataFields, want)
	}
	if _, ok := s.Profiles()["u-2"]; !ok {
		t.Errorf("userId-only profile not keyed by userId: %v", keys(s.Profiles()))
	}

	// Fields left out are untouched; sent ones overwrite.
	got = bulkOK(t, base, users(map[string]any{"email": "ann@example.com", "dataFields": map[string]any{"age": 31}}))
	if got.SuccessCount != 1 || len(got.CreatedFields) != 0 {
		t.Errorf("update: %+v", got)
	}
	ann = mustProfile(t, s, "ANN@example.com")
	if want := map[string]any{"firstName": "Ann", "age": int64(31)}; !reflect.DeepEqual(ann.DataFields, want) {
		t.Errorf("after update %#v, want %#v", ann.DataFields, want)
	}
	if ann.UpdatedCount != 2 {
		t.Errorf("UpdatedCount %d, want 2", ann.UpdatedCount)
	}
	st := s.Stats()
	if st.UsersCreated != 2 || st.UsersUpdated != 1 || st.Profiles != 2 {
		t.Errorf("stats %+v, want created 2 updated 1 profiles 2", st)
	}
	if st.Requests[EndpointBulkUpdate][200] != 2 {
		t.Errorf("requests %v", st.Requests)
	}
}

func TestBulkInvalidIdentifiers(t *testing.T) {
	s, base := newSim(t, Options{})
	long := strings.Repeat("x", 53)
	got := bulkOK(t, base, users(
		map[string]any{"email": "not-an-email", "dataFields": map[string]any{"a": 1}},
		map[string]any{"email": "user@host"},
		map[string]any{"email": "user@example.c0m"},
		map[string]any{"email": "sp ace@example.com"},
		map[string]any{"userId": long},
		map[string]any{"userId": "trailing "},
		map[string]any{"userId": "caf\u00e9"},
		map[string]any{"userId": "tab\tid"},
		map[string]any{"dataFields": map[string]any{"a": 1}},
		map[string]any{"email": "ok@example.com"},
		map[string]any{"userId": strings.Repeat("y", 52)},
	))
	if got.SuccessCount != 2 || got.FailCount != 9 {
		t.Fatalf("success %d fail %d, want 2/9: %+v", got.SuccessCount, got.FailCount, got)
	}
	wantEmails := []string{"not-an-email", "user@host", "user@example.c0m", "sp ace@example.com"}
	if !reflect.DeepEqual(got.FailedUpdates.InvalidEmails, wantEmails) {
		t.Errorf("invalidEmails %q, want %q", got.FailedUpdates.InvalidEmails, wantEmails)
	}
	wantIDs := []string{long, "trailing ", "caf\u00e9", "tab\tid", ""}
	if !reflect.DeepEqual(got.FailedUpdates.InvalidUserIds, wantIDs) {
		t.Errorf("invalidUserIds %q, want %q", got.FailedUpdates.InvalidUserIds, wantIDs)
	}
	if !reflect.DeepEqual(got.InvalidEmails, wantEmails) || !reflect.DeepEqual(got.InvalidUserIds, wantIDs) {
		t.Errorf("deprecated top-level lists differ from failedUpdates: %q %q", got.InvalidEmails, got.InvalidUserIds)
	}
	if n := len(s.Profiles()); n != 2 {
		t.Errorf("%d profiles, want 2", n)
	}
	// "a" was only sent for failed users, so it was never created.
	if _, ok := s.Fields()["a"]; ok || slices.Contains(got.CreatedFields, "a") {
		t.Errorf("field of failed users created: %v %v", s.Fields(), got.CreatedFields)
	}
	if s.Stats().UsersFailed != 9 {
		t.Errorf("UsersFailed %d", s.Stats().UsersFailed)
	}
}

func TestBulkHybridIdentity(t *testing.T) {
	s, base := newSim(t, Options{})
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "userId": "ua", "dataFields": map[string]any{"n": 1}}))
	p := mustProfile(t, s, "ua")
	if p.Email != "a@example.com" || p.UserID != "ua" {
		t.Fatalf("profile %+v", p)
	}
	// The email identifies; the userId given with it is set on the profile.
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "userId": "ua2", "preferUserId": true}))
	if _, ok := s.Profile("ua"); ok {
		t.Error("old userId still resolves")
	}
	if p := mustProfile(t, s, "ua2"); p.Email != "a@example.com" {
		t.Errorf("userId moved to %+v", p)
	}
	// A userId-only user is found by userId.
	got := bulkOK(t, base, users(map[string]any{"userId": "ua2", "dataFields": map[string]any{"n": 2}}))
	if got.SuccessCount != 1 || len(s.Profiles()) != 1 {
		t.Fatalf("userId update created a second profile: %v", keys(s.Profiles()))
	}
	if v := mustProfile(t, s, "a@example.com").DataFields["n"]; v != int64(2) {
		t.Errorf("n = %v", v)
	}

	// A userId that belongs to another profile cannot be taken.
	bulkOK(t, base, users(map[string]any{"userId": "taken"}))
	got = bulkOK(t, base, users(map[string]any{"email": "a@example.com", "userId": "taken"}))
	if got.FailCount != 1 || !reflect.DeepEqual(got.FailedUpdates.ConflictUserIds, []string{"taken"}) {
		t.Errorf("conflict: %+v", got)
	}
	// dataFields.email changes the email, unless another profile has it.
	bulkOK(t, base, users(map[string]any{"email": "b@example.com"}))
	got = bulkOK(t, base, users(map[string]any{"userId": "ua2", "dataFields": map[string]any{"email": "B@example.com"}}))
	if !reflect.DeepEqual(got.FailedUpdates.ConflictEmails, []string{"b@example.com"}) {
		t.Errorf("conflictEmails %v", got.FailedUpdates.ConflictEmails)
	}
	got = bulkOK(t, base, users(map[string]any{"userId": "ua2", "dataFields": map[string]any{"email": "New@example.com"}}))
	if got.SuccessCount != 1 {
		t.Fatalf("%+v", got)
	}
	p = mustProfile(t, s, "new@example.com")
	if p.UserID != "ua2" {
		t.Errorf("profile %+v", p)
	}
	if _, ok := p.DataFields["email"]; ok {
		t.Errorf("dataFields.email stored as data: %v", p.DataFields)
	}
}

func TestBulkForgotten(t *testing.T) {
	s, base := newSim(t, Options{})
	bulkOK(t, base, users(map[string]any{"email": "gone@example.com", "userId": "g1"}))
	s.Forget("GONE@example.com")
	s.Forget("never-seen-id")
	if _, ok := s.Profile("gone@example.com"); ok {
		t.Fatal("forgotten profile still present")
	}
	got := bulkOK(t, base, users(
		map[string]any{"email": "gone@example.com", "dataFields": map[string]any{"x": "y"}},
		map[string]any{"userId": "g1"},
		map[string]any{"userId": "never-seen-id"},
	))
	if got.SuccessCount != 0 || got.FailCount != 3 {
		t.Fatalf("%+v", got)
	}
	if !reflect.DeepEqual(got.FailedUpdates.ForgottenEmails, []string{"gone@example.com"}) ||
		!reflect.DeepEqual(got.FailedUpdates.ForgottenUserIds, []string{"g1", "never-seen-id"}) {
		t.Errorf("forgotten lists %+v", got.FailedUpdates)
	}
	if len(s.Profiles()) != 0 {
		t.Errorf("forgotten users re-created: %v", keys(s.Profiles()))
	}
}

func TestBulkNullRemovesField(t *testing.T) {
	s, base := newSim(t, Options{})
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"phone": "123", "n": 5}}))
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"phone": nil, "n": nil}}))
	if df := mustProfile(t, s, "a@example.com").DataFields; len(df) != 0 {
		t.Errorf("fields after null: %v", df)
	}
	// The type stays fixed after removal.
	r := bulk(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"n": "five"}}))
	if r.status != http.StatusBadRequest {
		t.Errorf("status %d after type change of a removed field, want 400", r.status)
	}
	if s.Fields()["n"] != TypeLong {
		t.Errorf("schema %v", s.Fields())
	}
}

func TestBulkMergeNestedObjects(t *testing.T) {
	s, base := newSim(t, Options{})
	seed := map[string]any{"email": "a@example.com", "dataFields": map[string]any{"settings": map[string]any{"mobile": true, "sms": false}}}
	bulkOK(t, base, users(seed))

	bulkOK(t, base, users(map[string]any{"email": "a@example.com",
		"dataFields": map[string]any{"settings": map[string]any{"email": true}}}))
	if got, want := mustProfile(t, s, "a@example.com").DataFields["settings"], map[string]any{"email": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("without merge: %v, want the object replaced: %v", got, want)
	}

	bulkOK(t, base, users(seed))
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "mergeNestedObjects": true,
		"dataFields": map[string]any{"settings": map[string]any{"email": true, "sms": nil}}}))
	if got, want := mustProfile(t, s, "a@example.com").DataFields["settings"], map[string]any{"mobile": true, "email": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("with merge: %v, want %v", got, want)
	}
}

func TestBulkCreateNewFields(t *testing.T) {
	t.Run("request false drops unknown fields", func(t *testing.T) {
		s, base := newSim(t, Options{})
		bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"known": "k", "obj": map[string]any{"in": 1}}}))
		got := bulkOK(t, base, map[string]any{"createNewFields": false, "users": []any{
			map[string]any{"email": "a@example.com", "dataFields": map[string]any{
				"known": "k2", "unknown": "u", "obj": map[string]any{"in": 2, "extra": true}}},
		}})
		if want := []string{"obj.extra", "unknown"}; !reflect.DeepEqual(got.FilteredOutFields, want) {
			t.Errorf("filteredOutFields %v, want %v", got.FilteredOutFields, want)
		}
		if len(got.CreatedFields) != 0 || got.SuccessCount != 1 {
			t.Errorf("%+v", got)
		}
		want := map[string]any{"known": "k2", "obj": map[string]any{"in": int64(2)}}
		if df := mustProfile(t, s, "a@example.com").DataFields; !reflect.DeepEqual(df, want) {
			t.Errorf("fields %v, want %v", df, want)
		}
	})
	t.Run("project setting drops, request true creates", func(t *testing.T) {
		s, base := newSim(t, Options{CreateNewFields: new(false)})
		got := bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"f": 1}}))
		if !reflect.DeepEqual(got.FilteredOutFields, []string{"f"}) || len(s.Fields()) != 0 {
			t.Errorf("project default not applied: %+v, schema %v", got, s.Fields())
		}
		got = bulkOK(t, base, map[string]any{"createNewFields": true, "users": []any{
			map[string]any{"email": "a@example.com", "dataFields": map[string]any{"f": 1}}}})
		if !reflect.DeepEqual(got.CreatedFields, []string{"f"}) || s.Fields()["f"] != TypeLong {
			t.Errorf("request override not applied: %+v, schema %v", got, s.Fields())
		}
	})
}

func TestBulkUpdateOnly(t *testing.T) {
	body := map[string]any{"updateOnly": true, "users": []any{
		map[string]any{"email": "old@example.com", "dataFields": map[string]any{"v": 2}},
		map[string]any{"email": "new@example.com", "dataFields": map[string]any{"v": 1}},
		map[string]any{"userId": "new-id"},
	}}
	t.Run("enabled", func(t *testing.T) {
		s, base := newSim(t, Options{UpdateOnlyEnabled: true})
		if err := s.SeedUser("old@example.com", "", map[string]any{"v": 1}); err != nil {
			t.Fatal(err)
		}
		got := bulkOK(t, base, body)
		if got.SuccessCount != 1 || got.FailCount != 2 ||
			!reflect.DeepEqual(got.FailedUpdates.NotFoundEmails, []string{"new@example.com"}) ||
			!reflect.DeepEqual(got.FailedUpdates.NotFoundUserIds, []string{"new-id"}) {
			t.Errorf("%+v", got)
		}
		if len(s.Profiles()) != 1 || mustProfile(t, s, "old@example.com").DataFields["v"] != int64(2) {
			t.Errorf("profiles %v", s.Profiles())
		}
		if s.Stats().UsersCreated != 0 {
			t.Errorf("users created with updateOnly")
		}
	})
	t.Run("not enabled: ignored", func(t *testing.T) {
		s, base := newSim(t, Options{})
		got := bulkOK(t, base, body)
		if got.SuccessCount != 3 || len(s.Profiles()) != 3 {
			t.Errorf("%+v", got)
		}
	})
}

func TestBulkDuplicateUserAppliedInOrder(t *testing.T) {
	s, base := newSim(t, Options{})
	got := bulkOK(t, base, users(
		map[string]any{"email": "a@example.com", "dataFields": map[string]any{"v": 1, "first": "x"}},
		map[string]any{"email": "A@example.com", "dataFields": map[string]any{"v": 2}},
	))
	if got.SuccessCount != 2 {
		t.Fatalf("%+v", got)
	}
	p := mustProfile(t, s, "a@example.com")
	if p.DataFields["v"] != int64(2) || p.DataFields["first"] != "x" || p.UpdatedCount != 2 {
		t.Errorf("%+v", p)
	}
	if st := s.Stats(); st.UsersCreated != 1 || st.UsersUpdated != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestBulkVersionRegression(t *testing.T) {
	s, base := newSim(t, Options{VersionField: "version"})
	send := func(v int) {
		bulkOK(t, base, users(map[string]any{"userId": "u1", "dataFields": map[string]any{"version": v}}))
	}
	send(5)
	send(7)
	send(7)
	if n := s.Stats().OrderRegressions; n != 0 {
		t.Fatalf("regressions %d after increasing versions", n)
	}
	send(3)
	if n := s.Stats().OrderRegressions; n != 1 {
		t.Errorf("regressions %d, want 1", n)
	}
}

func TestBulkBodyLimits(t *testing.T) {
	t.Run("default is 4,000,000 bytes", func(t *testing.T) {
		t.Parallel()
		_, base := newSim(t, Options{})
		prefix := `{"users":[{"email":"a@example.com","dataFields":{"pad":"`
		suffix := `"}}]}`
		exact := prefix + strings.Repeat("p", DefaultMaxBodyBytes-len(prefix)-len(suffix)) + suffix
		if r := bulk(t, base, []byte(exact)); r.status != http.StatusOK {
			t.Fatalf("body of exactly the limit: status %d", r.status)
		}
		over := prefix + strings.Repeat("p", DefaultMaxBodyBytes+1-len(prefix)-len(suffix)) + suffix
		r := bulk(t, base, []byte(over))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("over the limit: status %d, want 413", r.status)
		}
		if code, _ := apiErr(t, r); code != "BatchTooLarge" {
			t.Errorf("code %q", code)
		}
	})
	t.Run("configured, chunked body", func(t *testing.T) {
		t.Parallel()
		s, base := newSim(t, Options{MaxBodyBytes: 64})
		body := mustJSON(t, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"pad": strings.Repeat("p", 64)}}))
		// No Content-Length: the limit must hold while reading too.
		req, _ := http.NewRequest(http.MethodPost, base+"/api/users/bulkUpdate", struct{ *bytes.Reader }{bytes.NewReader(body)})
		req.Header.Set("Api-Key", testKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", res.StatusCode)
		}
		if len(s.Profiles()) != 0 {
			t.Error("oversized body applied")
		}
	})
}

func TestBulkBadJSON(t *testing.T) {
	s, base := newSim(t, Options{})
	cases := map[string]struct {
		body  string
		param string
	}{
		"syntax":         {`{"users":[`, "obj"},
		"not an object":  {`[1,2]`, "obj"},
		"missing users":  {`{"createNewFields":true}`, "obj.users"},
		"users null":     {`{"users":null}`, "obj.users"},
		"bool expected":  {`{"users":[{"email":"a@example.com","preferUserId":"yes"}]}`, "obj.users.preferUserId"},
		"fields not obj": {`{"users":[{"email":"a@example.com","dataFields":[1]}]}`, "obj.users.dataFields"},
		"trailing data":  {`{"users":[]} {}`, "obj"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := bulk(t, base, []byte(c.body))
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			code, params := apiErr(t, r)
			if code != "BadJsonBody" {
				t.Errorf("code %q", code)
			}
			if _, ok := params[c.param]; c.param != "" && !ok {
				t.Errorf("params %v lack %q", params, c.param)
			}
		})
	}
	if len(s.Profiles()) != 0 {
		t.Error("bad bodies applied")
	}
	// The decoded body is recorded for valid requests only.
	bulkOK(t, base, users(map[string]any{"email": "a@example.com"}))
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.Bulk == nil || *last.Bulk.Users[0].Email != "a@example.com" || last.Users != 1 || last.BodyBytes == 0 {
		t.Errorf("last request %+v", last)
	}
	if reqs[0].Bulk != nil || reqs[0].Code != "BadJsonBody" {
		t.Errorf("first request %+v", reqs[0])
	}
}
