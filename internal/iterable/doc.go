// Package iterable is attrsync's client for the Iterable user API: one
// attempt per call, with typed outcomes.
//
// BulkUpdate writes users through POST /api/users/bulkUpdate and reports per
// user which ones Iterable rejected (failedUpdates) and which of its fields
// were filtered out (FilteredOut); UserExists looks a user up for update
// mode. Failures of a whole request are *APIError values (or *TLSError,
// *TransportError), classified by IsTransient (retry with backoff), IsAuth
// and IsTLS (pause until an operator fixes it), IsTypeMismatch and
// IsInvalidRequest (narrow down by splitting) so that the caller can apply
// its retry policy (SPEC §3 Retry). Each call first waits on the endpoint's
// rate limiter, and a 429 slows that limiter down.
//
// The API key is sent only in the Api-Key header. It never appears in an
// error, a URL, or the formatted client. Error texts hold no value sent
// either: Iterable's own message, which may quote one, is Detail.
package iterable
