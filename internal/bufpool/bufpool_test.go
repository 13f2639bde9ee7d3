package bufpool

import "testing"

// Put keeps a grown buffer up to max and falls back to the holder's old buffer above it.
func TestPutKeepsBuffersUpToMax(t *testing.T) {
	for _, c := range []struct {
		capacity int
		wantKept bool
	}{{10, true}, {100, true}, {101, false}} {
		p := New(8, 100)
		b := p.Get()
		if len(*b) != 0 || cap(*b) != 8 {
			t.Fatalf("fresh buffer len %d cap %d", len(*b), cap(*b))
		}
		used := append(make([]byte, 0, c.capacity), "grown"...) // what appending to (*b)[:0] gave

		p.Put(b, used)
		if kept := cap(*b) == cap(used); kept != c.wantKept || len(*b) != 0 {
			t.Errorf("grown to capacity %d: holder cap %d len %d, kept %v, want %v", c.capacity, cap(*b), len(*b), kept, c.wantKept)
		}
	}
}
