// Package bufpool recycles the byte buffers of hot paths (request bodies, encoded payloads),
// keeping only buffers up to a size so one huge item does not stay in memory.
package bufpool

import "sync"

// Pool is a pool of byte buffers. The zero value is not usable: call New.
type Pool struct {
	p   sync.Pool
	max int
}

// New returns a pool whose fresh buffers have capacity initial and which keeps buffers of
// capacity up to max.
func New(initial, max int) *Pool {
	p := &Pool{max: max}
	p.p.New = func() any { b := make([]byte, 0, initial); return &b }
	return p
}

// Get returns a buffer holder; (*b)[:0] is an empty buffer to append to.
func (p *Pool) Get() *[]byte { return p.p.Get().(*[]byte) }

// Put gives b back, holding used (what was appended to (*b)[:0], possibly grown) when its
// capacity is at most max, else the buffer it held before. Nothing may use used afterwards.
func (p *Pool) Put(b *[]byte, used []byte) {
	if cap(used) <= p.max {
		*b = used[:0]
	}
	p.p.Put(b)
}
