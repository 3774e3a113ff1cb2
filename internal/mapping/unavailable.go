package mapping

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DefaultUnavailableValue is the placeholder Debezium's Postgres connector
// writes for an unchanged TOASTed column (its unavailable.value.placeholder
// default).
const DefaultUnavailableValue = "__debezium_unavailable_value"

// placeholder recognises the value Debezium sends instead of an unchanged
// TOASTed column. Debezium shapes it after the column's type (its
// UnchangedToastedPlaceholder): the text for text-like columns (text,
// varchar, json, jsonb, xml), the bytes for bytea (which the JSON converter
// writes as base64, or hex under binary.handling.mode=hex), a one-element
// list for text, bytea and uuid arrays, the bytes as numbers for integer
// arrays, and a one-entry map (or its JSON text) for hstore. A row holding
// any of these never had the real value, so sending it would overwrite the
// profile with the placeholder.
type placeholder struct {
	strs  []string // whole-value string forms
	text  string   // "" when the rule is off
	bytes []byte
	uuid  string
}

func newPlaceholder(value string) (placeholder, error) {
	if value == "" {
		return placeholder{}, nil
	}
	b := []byte(value)
	if h, ok := strings.CutPrefix(value, "hex:"); ok {
		var err error
		if b, err = hex.DecodeString(h); err != nil || len(b) == 0 {
			return placeholder{}, fmt.Errorf("source.unavailable_value: %q is not hex: followed by hexadecimal bytes", value)
		}
	}
	p := placeholder{text: string(b), bytes: b, uuid: nameUUID(b)}
	hstore, _ := json.Marshal(map[string]string{p.text: p.text})
	p.strs = dedupe(p.text, base64.StdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b),
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)), string(hstore))
	return p, nil
}

// nameUUID is Java's UUID.nameUUIDFromBytes (an MD5, version 3 UUID), which
// Debezium puts in a uuid array it could not read.
func nameUUID(b []byte) string {
	sum := md5.Sum(b)
	sum[6] = sum[6]&0x0f | 0x30
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func dedupe(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// is reports whether v is the placeholder in one of its shapes. Strings
// are compared whole: a value that merely contains the placeholder is data.
func (p *placeholder) is(v any) bool {
	if p.text == "" {
		return false
	}
	switch t := v.(type) {
	case string:
		return p.isText(t)
	case []any:
		return p.isList(t)
	case map[string]any:
		s, ok := t[p.text].(string)
		return len(t) == 1 && ok && s == p.text
	}
	return false
}

// isText reports whether s is the placeholder in one of its string forms.
func (p *placeholder) isText(s string) bool {
	return p.text != "" && contains(p.strs, s)
}

// isList recognises the array placeholders: [text], [bytes] (encoded),
// [uuid], and the bytes as integers.
func (p *placeholder) isList(a []any) bool {
	if len(a) == 1 {
		if s, ok := a[0].(string); ok {
			return contains(p.strs, s) || s == p.uuid
		}
	}
	if len(a) != len(p.bytes) {
		return false
	}
	for i, e := range a {
		n, ok := e.(json.Number)
		if !ok {
			return false
		}
		// Java bytes are signed: 0x80 and above arrive negative.
		x, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || (x != int64(p.bytes[i]) && x != int64(int8(p.bytes[i]))) {
			return false
		}
	}
	return true
}
