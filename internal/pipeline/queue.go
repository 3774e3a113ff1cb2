package pipeline

// dropFront returns q without its first n elements, in constant time: the
// rest stays where it is, and appends move it to a new array once the old
// one fills. Copying the rest down instead costs time in the length of the
// queue for every removal; on a backlog the engine's ready list and the
// sender's queue hold a budget's worth of users, and that copying cost more
// than the engine's own work. The dropped elements are cleared, or the
// array would keep what they point to (users, their messages) alive until
// it is replaced, beyond what the held budget counts: a caller that hands
// them on copies them out first.
func dropFront[T any](q []T, n int) []T {
	clear(q[:n])
	return q[n:]
}
