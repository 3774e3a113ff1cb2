package sim

import (
	"fmt"
	"maps"
	"slices"
)

// refusal decides the Faults.RefuseValue answer to a bulkUpdate: the code,
// a msg quoting the value, and params naming where it was (in the shape of
// Iterable's JSON validation errors), for the first user holding it.
func (fs *faultState) refusal(endpoint string, users []BulkUser) (code, msg string, params map[string]any, ok bool) {
	fs.mu.Lock()
	value, code, applies := fs.f.RefuseValue, fs.f.RefuseCode, fs.applies(endpoint)
	fs.mu.Unlock()
	if value == "" || !applies {
		return "", "", nil, false
	}
	if code == "" {
		code = "BadParams"
	}
	for i, u := range users {
		for _, name := range slices.Sorted(maps.Keys(u.DataFields)) {
			if !holds(u.DataFields[name], value) {
				continue
			}
			path := fmt.Sprintf("obj.users[%d].dataFields.%s", i, name)
			msg = fmt.Sprintf("Invalid value %q for field %s", value, name)
			if code == "BadJsonBody" {
				msg = fmt.Sprintf("[/api/users/bulkUpdate] Invalid JSON body: cannot read %q at %s", value, path)
			}
			return code, msg, map[string]any{path: []any{map[string]any{"msg": []any{"error.invalid"}, "args": []any{}}}}, true
		}
	}
	return "", "", nil, false
}

// holds reports whether v, a decoded JSON value, is s or contains it.
func holds(v any, s string) bool {
	switch t := v.(type) {
	case string:
		return t == s
	case map[string]any:
		for _, e := range t {
			if holds(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if holds(e, s) {
				return true
			}
		}
	}
	return false
}
