package change

import "sync"

// maxPooled bounds the storage a ColumnsPool keeps: rows are decoded and
// recycled one at a time per partition, so a few dozen cover every
// partition a process reads.
const maxPooled = 64

// ColumnsPool keeps the storage of Columns whose rows nothing reads any
// more, for the next rows to be decoded into: a stream of rows then
// allocates none. Each Columns is a few hundred bytes holding pointers,
// and allocating two an event (an update's after and before images) cost
// more than reading their fields. The zero pool is ready; it is safe for
// concurrent use.
type ColumnsPool struct {
	mu   sync.Mutex
	free [][]cell // cleared: they hold no values
}

// Get returns empty Columns for the named fields, as NewColumns does, in
// storage a row gave back when there is some.
func (p *ColumnsPool) Get(names []string) Columns {
	p.mu.Lock()
	n := len(p.free)
	if n == 0 {
		p.mu.Unlock()
		return NewColumns(names)
	}
	cells := p.free[n-1]
	p.free[n-1] = nil
	p.free = p.free[:n-1]
	p.mu.Unlock()
	if cap(cells) < len(names) {
		return NewColumns(names)
	}
	return Columns{names: names, cells: cells[:len(names)]}
}

// Put gives c's storage back. c, and every Columns and Row holding the
// same storage, must not be read afterwards. The storage is cleared first,
// so that the pool keeps no message values alive.
func (p *ColumnsPool) Put(c Columns) {
	if cap(c.cells) == 0 {
		return
	}
	cells := c.cells[:cap(c.cells)]
	clear(cells)
	p.mu.Lock()
	if len(p.free) < maxPooled {
		p.free = append(p.free, cells)
	}
	p.mu.Unlock()
}
