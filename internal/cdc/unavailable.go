package cdc

import "errors"

// ErrUnavailable marks a message that could not be decoded because
// something it depends on could not be reached (a schema registry). It is
// not the message's fault: the pipeline retries it while its partition
// waits, and never dead-letters it for this.
var ErrUnavailable = errors.New("cdc: decoding dependency unavailable")
