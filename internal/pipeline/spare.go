package pipeline

// spares keeps values dropped by their owner, cleared, to be taken again
// instead of allocating: on a backlog of distinct users the engine drops a
// user, and the row tracker a row line, for every one it makes. Only the
// one goroutine (or lock) owning the values uses it, and nothing else may
// hold a value once it is put back.
type spares[T any] struct{ free []*T }

// maxSpares bounds what spares keep: about one candidate's worth.
const maxSpares = 1024

// take returns a cleared value, reused when one is kept.
func (s *spares[T]) take() *T {
	n := len(s.free)
	if n == 0 {
		return new(T)
	}
	v := s.free[n-1]
	s.free = s.free[:n-1]
	return v
}

// put clears v and keeps it, unless enough are kept.
func (s *spares[T]) put(v *T) {
	if len(s.free) < maxSpares {
		var zero T
		*v = zero
		s.free = append(s.free, v)
	}
}
