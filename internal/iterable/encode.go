package iterable

import (
	"strconv"
	"unicode/utf8"

	"github.com/attrsync/attrsync/internal/change"
)

// User is one user of a bulkUpdate request.
type User struct {
	ID change.Identifier
	// Fields are sent as dataFields, in order. Each Attr.JSON must be valid
	// JSON; it is written as is.
	Fields []change.Attr
}

// BulkRequest is one POST /api/users/bulkUpdate.
type BulkRequest struct {
	Users []User
	// CreateNewFields lets Iterable add fields it does not know yet.
	CreateNewFields bool
	// MergeNestedObjects merges top-level objects instead of replacing them.
	MergeNestedObjects bool
	// PreferUserID creates a user identified by an unknown userId in an
	// email-based project.
	PreferUserID bool
	// UpdateOnly sends the account-enabled, undocumented "updateOnly": true.
	UpdateOnly bool
}

// The parts of the body around the users. Their lengths make up EnvelopeSize.
const (
	envelopeOpen    = `{"users":[`
	envelopeCreate  = `],"createNewFields":`
	envelopeUpdOnly = `,"updateOnly":true`
	envelopeClose   = `}`
)

// MaxEnvelopeSize bounds the bytes of a bulkUpdate body that are not users
// or the commas between them, whatever the flags.
const MaxEnvelopeSize = len(envelopeOpen) + len(envelopeCreate) + len("false") + len(envelopeUpdOnly) + len(envelopeClose)

// EnvelopeSize is the exact number of bytes of EncodeBulk(req) outside the
// users and the commas between them; req.Users is ignored.
func EnvelopeSize(req BulkRequest) int {
	n := len(envelopeOpen) + len(envelopeCreate) + len(strconv.AppendBool(nil, req.CreateNewFields)) + len(envelopeClose)
	if req.UpdateOnly {
		n += len(envelopeUpdOnly)
	}
	return n
}

// UserSize is the size of u's object in EncodeBulk, not counting the comma
// that separates it from the next user. It is exact when PreferUserID and
// MergeNestedObjects are false and at most 2 bytes too high otherwise, so
//
//	len(EncodeBulk(req)) <= EnvelopeSize(req) + Σ (UserSize(u) + 1)
//
// and a batcher that adds UserSize(u)+1 per user to MaxEnvelopeSize never
// cuts a request above its byte budget.
func UserSize(u User) int {
	return len(appendUser(nil, u, false, false))
}

// EncodeBulk encodes req as Iterable's BulkUpdateUsersRequest. Attribute
// values are copied byte for byte from Attr.JSON, never re-marshalled.
func EncodeBulk(req BulkRequest) []byte {
	size := EnvelopeSize(req)
	for _, u := range req.Users {
		size += UserSize(u) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, envelopeOpen...)
	for i, u := range req.Users {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUser(b, u, req.PreferUserID, req.MergeNestedObjects)
	}
	b = append(b, envelopeCreate...)
	b = strconv.AppendBool(b, req.CreateNewFields)
	if req.UpdateOnly {
		b = append(b, envelopeUpdOnly...)
	}
	return append(b, envelopeClose...)
}

// appendUser appends one OptionalApiUser object.
func appendUser(b []byte, u User, preferUserID, mergeNested bool) []byte {
	b = append(b, '{')
	b = appendString(b, u.ID.Kind.String())
	b = append(b, ':')
	b = appendString(b, u.ID.Value)
	b = append(b, `,"dataFields":{`...)
	for i, f := range u.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = append(b, f.JSON...)
	}
	b = append(b, `},"preferUserId":`...)
	b = strconv.AppendBool(b, preferUserID)
	b = append(b, `,"mergeNestedObjects":`...)
	b = strconv.AppendBool(b, mergeNested)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone (the body is never embedded in HTML); like it, it turns
// invalid UTF-8 into U+FFFD and escapes U+2028 and U+2029.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
