// Package iterable is attrsync's client for the Iterable user API: one
// attempt per call, with typed outcomes.
//
// BulkUpdate writes users through POST /api/users/bulkUpdate and reports per
// user which ones Iterable rejected (failedUpdates); UserExists looks a user
// up for update mode. Failures of a whole request are *APIError values,
// classified by IsTransient, IsAuth and IsTypeMismatch so that the caller can
// apply its retry policy (SPEC §3 Retry). Each call first waits on the
// endpoint's rate limiter, and a 429 slows that limiter down.
//
// The API key is sent only in the Api-Key header. It never appears in an
// error, a URL, or the formatted client.
package iterable
