package swagger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		def  string
		body string
		ok   bool
	}{
		{BulkUpdateUsersRequest, `{"users":[{"email":"a@example.com","dataFields":{"x":1},"preferUserId":false,"mergeNestedObjects":true}],"createNewFields":true}`, true},
		{BulkUpdateUsersRequest, `{"users":[],"updateOnly":true}`, true}, // extra members are allowed
		{BulkUpdateUsersRequest, `{"createNewFields":true}`, false},      // users is required
		{BulkUpdateUsersRequest, `{"users":[{"email":5}]}`, false},
		{BulkUpdateUsersRequest, `{"users":[{"dataFields":"x"}]}`, false},
		{BulkUpdateUsersRequest, `{"users":[{"preferUserId":"yes"}]}`, false},
		{BulkUpdateUsersRequest, `{"users":{}}`, false},
		{UserBulkUpdateListResponse, `{"successCount":1,"failCount":0,"failedUpdates":{"invalidEmails":[]},"createdFields":["a"]}`, true},
		{UserBulkUpdateListResponse, `{"successCount":1}`, false},
		{UserBulkUpdateListResponse, `{"successCount":"1","failCount":0}`, false},
		{UserBulkUpdateListResponse, `{"successCount":1.5,"failCount":0}`, false},
		{UserBulkUpdateListResponse, `{"successCount":3000000000,"failCount":0}`, false}, // int32
		{UserBulkUpdateListResponse, `{"successCount":1,"failCount":0,"createdFields":["a","a"]}`, false},
		{UserBulkUpdateListResponse, `{"successCount":1,"failCount":0,"failedUpdates":{"notFoundEmails":[1]}}`, false},
		{IterableApiResponse, `{"msg":"","code":"RateLimitExceeded","params":null}`, true},
		{IterableApiResponse, `{"msg":"x","code":"NoSuchCode"}`, false},
		{IterableApiResponse, `{"code":"Success"}`, false},
		{UserResponse, `{}`, true},
		{UserResponse, `{"user":{"email":"a@example.com","dataFields":{}}}`, true},
		{UserResponse, `{"user":{"userId":"u"}}`, false}, // ApiResponseUser requires email
		{UserResponse, `not json`, false},
	}
	for _, c := range cases {
		err := Validate(c.def, []byte(c.body))
		if (err == nil) != c.ok {
			t.Errorf("Validate(%s, %s) = %v, want ok=%v", c.def, c.body, err, c.ok)
		}
	}
	if err := Validate("NoSuchDefinition", []byte(`{}`)); err == nil {
		t.Error("unknown definition accepted")
	}
}

// The embedded definitions must stay a verbatim copy of Iterable's. The
// reference file lives outside the module; skip where it is not checked out.
func TestDefinitionsMatchReference(t *testing.T) {
	ref := filepath.Join("..", "..", "..", "..", "shared", "reference", "iterable-api-docs.json")
	raw, err := os.ReadFile(ref)
	if err != nil {
		t.Skipf("reference spec not available: %v", err)
	}
	var full, ours struct {
		Definitions map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(definitionsJSON, &ours); err != nil {
		t.Fatal(err)
	}
	if len(ours.Definitions) == 0 {
		t.Fatal("no definitions embedded")
	}
	for name, def := range ours.Definitions {
		if !reflect.DeepEqual(def, full.Definitions[name]) {
			t.Errorf("definition %s differs from the reference", name)
		}
	}
	if got := Definitions(); len(got) != 9 {
		t.Errorf("Definitions() = %v", got)
	}
}
