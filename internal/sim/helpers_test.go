package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

const testKey = "test-key-7f3a"

// newSim starts a simulator behind httptest. Rate limits are off unless the
// test sets them, so only rate-limit tests depend on timing.
func newSim(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.BulkUpdatePerSecond == 0 {
		opts.BulkUpdatePerSecond = -1
	}
	if opts.LookupPerSecond == 0 {
		opts.LookupPerSecond = -1
	}
	if opts.GetFieldsPerSecond == 0 {
		opts.GetFieldsPerSecond = -1
	}
	if opts.DeletePerSecond == 0 {
		opts.DeletePerSecond = -1
	}
	if opts.ExportPerMinute == 0 {
		opts.ExportPerMinute = -1
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func doReq(t *testing.T, method, url, key string, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Api-Key", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bulk posts a bulkUpdate body (raw bytes or anything JSON-encodable),
// checking first that the test itself sends a Swagger-conformant request.
func bulk(t *testing.T, base string, body any) response {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		b = mustJSON(t, body)
		if err := swagger.Validate(swagger.BulkUpdateUsersRequest, b); err != nil {
			t.Fatalf("test sends a non-conformant request: %v", err)
		}
	}
	return doReq(t, http.MethodPost, base+"/api/users/bulkUpdate", testKey, b)
}

// bulkOK posts and expects 200, returning the decoded answer, which must
// conform to UserBulkUpdateListResponse.
func bulkOK(t *testing.T, base string, body any) BulkUpdateResponse {
	t.Helper()
	r := bulk(t, base, body)
	if r.status != http.StatusOK {
		t.Fatalf("bulkUpdate: status %d, body %s", r.status, r.body)
	}
	conform(t, swagger.UserBulkUpdateListResponse, r.body)
	var out BulkUpdateResponse
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// apiErr decodes an IterableApiResponse error body after checking it
// conforms.
func apiErr(t *testing.T, r response) (code string, params map[string]any) {
	t.Helper()
	conform(t, swagger.IterableApiResponse, r.body)
	var e struct {
		Code   string         `json:"code"`
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return e.Code, e.Params
}

func conform(t *testing.T, def string, body []byte) {
	t.Helper()
	if err := swagger.Validate(def, body); err != nil {
		t.Errorf("response does not conform to %s: %v\nbody: %s", def, err, body)
	}
}

// users builds a bulkUpdate body from user objects.
func users(us ...map[string]any) map[string]any {
	list := make([]any, len(us))
	for i, u := range us {
		list[i] = u
	}
	return map[string]any{"users": list}
}

func mustProfile(t *testing.T, s *Server, id string) Profile {
	t.Helper()
	p, ok := s.Profile(id)
	if !ok {
		t.Fatalf("no profile %q; have %v", id, keys(s.Profiles()))
	}
	return p
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
