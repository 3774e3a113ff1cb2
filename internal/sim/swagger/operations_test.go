package swagger

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestValidateRequest(t *testing.T) {
	cases := []struct {
		name string
		op   string
		req  Request
		want string // substring of the error; "" means conforms
	}{
		{"user export by dates", OpExportDataJSON, Request{Query: url.Values{
			"dataTypeName": {"user"}, "startDateTime": {"2024-01-01 00:00:00 +00:00"},
			"endDateTime": {"2024-02-01 00:00:00 +00:00"}, "onlyFields": {"email", "userId"},
		}}, ""},
		{"user export by range", OpExportDataJSON, Request{Query: url.Values{"dataTypeName": {"user"}, "range": {"All"}}}, ""},
		{"export without a data type", OpExportDataJSON, Request{Query: url.Values{"range": {"All"}}}, "dataTypeName: required"},
		{"export of an unknown data type", OpExportDataJSON, Request{Query: url.Values{"dataTypeName": {"users"}}}, `"users" is not one of`},
		{"export with an unknown range", OpExportDataJSON, Request{Query: url.Values{"dataTypeName": {"user"}, "range": {"Forever"}}}, "range"},
		{"export with a misspelt parameter", OpExportDataJSON, Request{Query: url.Values{"dataTypeName": {"user"}, "onlyField": {"email"}}}, "onlyField: not a parameter"},
		{"export with a repeated scalar", OpExportDataJSON, Request{Query: url.Values{"dataTypeName": {"user", "user"}}}, "sent 2 times"},
		{"export with a bad campaign", OpExportDataJSON, Request{Query: url.Values{"dataTypeName": {"user"}, "campaignId": {"x"}}}, "not an integer"},
		{"getFields", OpGetUserFields, Request{}, ""},
		{"updateEmail", OpUpdateEmail, Request{Body: []byte(`{"currentEmail":"a@example.com","newEmail":"b@example.com"}`)}, ""},
		{"updateEmail by userId", OpUpdateEmail, Request{Body: []byte(`{"currentUserId":"u1","newEmail":"b@example.com"}`)}, ""},
		{"updateEmail without newEmail", OpUpdateEmail, Request{Body: []byte(`{"currentEmail":"a@example.com"}`)}, "newEmail"},
		{"updateEmail without body", OpUpdateEmail, Request{}, "body: required"},
		{"delete by email", OpDeleteByEmail, Request{Path: map[string]string{"email": "a@example.com"}}, ""},
		{"delete by email without one", OpDeleteByEmail, Request{}, "path parameter email: missing"},
		{"delete by userId", OpDeleteByUserID, Request{Path: map[string]string{"userId": "u1"}}, ""},
	}
	for _, c := range cases {
		err := ValidateRequest(c.op, c.req)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if err := ValidateRequest("GET /api/nothing", Request{}); err == nil {
		t.Error("unknown operation accepted")
	}
}

func TestResponseDefinition(t *testing.T) {
	cases := []struct {
		op         string
		status     int
		def        string
		documented bool
	}{
		{OpGetUserFields, 200, GetUserFieldsResponse, true},
		{OpUpdateEmail, 200, IterableApiResponse, true},
		{OpUpdateEmail, 409, "", true},
		{OpDeleteByEmail, 200, IterableApiResponse, true},
		{OpDeleteByEmail, 404, "", false},
		{OpExportDataJSON, 200, "", true}, // a stream of JSON lines: "type": "string"
		{OpExportDataJSON, 429, "", true},
	}
	for _, c := range cases {
		def, documented := ResponseDefinition(c.op, c.status)
		if def != c.def || documented != c.documented {
			t.Errorf("ResponseDefinition(%s, %d) = %q, %v; want %q, %v", c.op, c.status, def, documented, c.def, c.documented)
		}
	}
	if err := Validate(GetUserFieldsResponse, []byte(`{"fields":{"plan":"string"}}`)); err != nil {
		t.Error(err)
	}
	if err := Validate(GetUserFieldsResponse, []byte(`{}`)); err == nil {
		t.Error("getFields answer without fields accepted")
	}
}

// The embedded operations must stay verbatim copies of Iterable's.
func TestOperationsMatchReference(t *testing.T) {
	ref := filepath.Join("..", "..", "..", "..", "shared", "reference", "iterable-api-docs.json")
	raw, err := os.ReadFile(ref)
	if err != nil {
		t.Skipf("reference spec not available: %v", err)
	}
	var full struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	var ours struct {
		Operations map[string]any `json:"operations"`
	}
	if err := json.Unmarshal(operationsJSON, &ours); err != nil {
		t.Fatal(err)
	}
	if len(ours.Operations) != 5 || len(Operations()) != 5 {
		t.Fatalf("%d operations embedded, want 5", len(ours.Operations))
	}
	for key, op := range ours.Operations {
		method, path, _ := strings.Cut(key, " ")
		if !reflect.DeepEqual(op, full.Paths[path][strings.ToLower(method)]) {
			t.Errorf("operation %s differs from the reference", key)
		}
	}
}
