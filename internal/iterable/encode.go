package iterable

import (
	"github.com/attrsync/attrsync/internal/jsonappend"
	"strconv"

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
	b = jsonappend.AppendString(b, u.ID.Kind.String())
	b = append(b, ':')
	b = jsonappend.AppendString(b, u.ID.Value)
	b = append(b, `,"dataFields":{`...)
	for i, f := range u.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonappend.AppendString(b, f.Name)
		b = append(b, ':')
		b = append(b, f.JSON...)
	}
	b = append(b, `},"preferUserId":`...)
	b = strconv.AppendBool(b, preferUserID)
	b = append(b, `,"mergeNestedObjects":`...)
	b = strconv.AppendBool(b, mergeNested)
	return append(b, '}')
}
