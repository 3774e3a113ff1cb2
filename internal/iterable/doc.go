// Package iterable is attrsync's client for the Iterable user API: one
// attempt per call, with typed outcomes.
//
// BulkUpdate writes users through POST /api/users/bulkUpdate and reports per
// user which ones Iterable rejected (failedUpdates) and which of its fields
// were filtered out (FilteredOut); UserExists looks a user up for update
// mode; ExportUsers streams the identifiers of a user export (JSON lines,
// decoded as they arrive); UserFields reads the project's field types;
// UpdateEmail moves a profile to a new email; DeleteUser deletes a user.
// Failures of a whole request are *APIError values (or *TLSError,
// *TransportError), classified by IsTransient (retry with backoff), IsAuth
// and IsTLS (pause until an operator fixes it), IsTypeMismatch and
// IsInvalidRequest (narrow down by splitting), IsRateLimited, and by
// errors.Is against ErrEmailTaken, ErrUserForgotten and ErrUserNotFound, so
// that the caller can apply its retry policy (SPEC §3 Retry).
//
// Each call but BulkUpdate first waits on its endpoint's rate limiter, when
// it has one, and a limiter that is Adaptive hears about every answer (a 429
// with what it asked for, or one that got through). BulkUpdate sends at
// once: its caller takes a turn from its own limiter before cutting a
// request, and reports the answer itself.
//
// The API key is sent only in the Api-Key header. It never appears in an
// error, a URL, or the formatted client; neither do the identifiers of the
// single-user calls, which Iterable echoes in some messages. Error texts
// hold no value sent either: Iterable's own message, which may quote one,
// is Detail.
package iterable
