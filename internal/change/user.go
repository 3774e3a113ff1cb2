package change

import "time"

// IDKind says how Iterable identifies a user.
type IDKind uint8

const (
	// Email identifies users by their (lowercased) email address.
	Email IDKind = iota + 1
	// UserID identifies users by their userId, kept exactly as given.
	UserID
)

// String returns the Iterable field name of the identifier kind.
func (k IDKind) String() string {
	if k == UserID {
		return "userId"
	}
	return "email"
}

// Identifier is a normalised Iterable user identifier.
type Identifier struct {
	Kind  IDKind
	Value string
}

// String returns the identifier value. It is personal data: log it only at
// debug level.
func (id Identifier) String() string { return id.Value }

// Attr is one mapped attribute, ready to send.
type Attr struct {
	// Name is the Iterable field name.
	Name string
	// JSON is the value's canonical JSON encoding ("null" removes the field in
	// Iterable). It is both what is sent and what is fingerprinted, so two
	// values are the same exactly when Iterable would receive the same bytes.
	JSON []byte
}

// UserChange is what one CDC message asks of one Iterable user.
type UserChange struct {
	User Identifier
	// Attrs lists the mapped attributes present in the message, in mapping
	// order. An attribute missing from the row is absent here, and is left
	// alone in Iterable.
	Attrs []Attr
	// Forget asks to drop the stored fingerprints once Iterable has accepted
	// the change (a delete under on_delete: unset).
	Forget bool
	// Delete asks to delete the user from Iterable (a delete under
	// on_delete: delete), then forget its state. Attrs is empty. User is
	// zero when the row did not name the user (a tombstone, or a before
	// image holding only the key columns): the pipeline then finds the user
	// the message key last named.
	Delete bool
	// From is the identifier the same row had before this change, when the
	// change itself says so (Debezium's before image) and it differs from
	// User: the row's email changed, and the profile is to move from From to
	// User. Zero when unknown or unchanged.
	From Identifier
	// Pos is where the message that produced the change sits.
	Pos Position
	// SourceTime is when the change happened at the source, zero if unknown.
	SourceTime time.Time
}

// IsZero reports whether id names no user.
func (id Identifier) IsZero() bool { return id == Identifier{} }
