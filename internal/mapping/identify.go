package mapping

import "github.com/attrsync/attrsync/internal/change"

// Identify normalises an identifier given by hand (attrsync state inspect
// --user) exactly as the mapping normalises one read from a row: an email is
// trimmed, lowercased and validated, a userId validated and kept as is.
// The state is keyed by the normalised form, so this finds what a row with
// the same identifier would.
func (m *Mapper) Identify(raw string) (change.Identifier, error) {
	if m.id.kind == change.Email {
		email, reason := normaliseEmail(raw)
		if reason != "" {
			return change.Identifier{}, m.id.fail("invalid email (%s)", reason)
		}
		return change.Identifier{Kind: change.Email, Value: email}, nil
	}
	if reason := checkUserID(raw); reason != "" {
		return change.Identifier{}, m.id.fail("invalid userId (%s)", reason)
	}
	return change.Identifier{Kind: change.UserID, Value: raw}, nil
}
