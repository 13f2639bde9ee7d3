package webchat

import (
	"context"
	"sync"
)

// hub wakes the open streams (SSE responses, long polls) of a session when its history has a
// new event. Appends in this process notify it directly; appends elsewhere (another gateway
// process, the router's send worker) arrive through one Redis Pub/Sub subscription per
// process (Run). A lost notification only delays an event until the next heartbeat, when
// every stream re-reads its session.
type hub struct {
	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
}

func newHub() *hub { return &hub{waiters: map[string]map[chan struct{}]struct{}{}} }

// wait registers a waiter for sid: its channel receives (without blocking the notifier)
// after every event. Call the returned function when done.
func (h *hub) wait(sid string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	m := h.waiters[sid]
	if m == nil {
		m = map[chan struct{}]struct{}{}
		h.waiters[sid] = m
	}
	m[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(m, ch)
		if len(m) == 0 && h.waiters[sid] != nil && len(h.waiters[sid]) == 0 {
			delete(h.waiters, sid)
		}
		h.mu.Unlock()
	}
}

func (h *hub) notify(sid string) {
	h.mu.Lock()
	for ch := range h.waiters[sid] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
}

// open is the number of open streams (the metric).
func (h *hub) open() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.waiters {
		n += len(m)
	}
	return n
}

// Run relays the Pub/Sub notifications of the chat's sessions to this process's streams
// until ctx ends (go-redis resubscribes after a lost connection by itself).
func (c *Channel) Run(ctx context.Context) error {
	ps := c.rdb.Subscribe(ctx, c.notifyChannel())
	defer ps.Close()
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			c.hub.notify(m.Payload)
		}
	}
}
