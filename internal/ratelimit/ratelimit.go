// Package ratelimit is the per-client limits of the public HTTP endpoints (the web form, the
// website chat): a token bucket per key in a bounded LRU, and the client address of a request.
package ratelimit

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per key (a client address, a chat session), held in a bounded LRU: at most max
// addresses are tracked, the least recently seen are forgotten first, and an address idle
// long enough for its bucket to be full again is dropped (forgetting it changes nothing).
// Time comes from the caller (the injected clock), so tests never sleep.
type Limiter struct {
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration

	mu sync.Mutex
	ll *list.List // of *ipEntry, most recently seen at the front
	m  map[string]*list.Element
}

type ipEntry struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

// New returns a limiter of perMinute sustained requests and burst at once per key, tracking
// at most max keys.
func New(perMinute float64, burst, max int) *Limiter {
	l := rate.Limit(perMinute / 60)
	idle := time.Duration(float64(burst) / float64(l) * float64(time.Second))
	if idle < time.Minute {
		idle = time.Minute
	}
	return &Limiter{limit: l, burst: burst, max: max, idle: idle, ll: list.New(), m: map[string]*list.Element{}}
}

// Allow takes one token for key at now. When none is left it returns false and how long
// until one is.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evict(now)
	var e *ipEntry
	if el, ok := l.m[key]; ok {
		e = el.Value.(*ipEntry)
		l.ll.MoveToFront(el)
	} else {
		e = &ipEntry{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = l.ll.PushFront(e)
		for l.ll.Len() > l.max {
			l.remove(l.ll.Back())
		}
	}
	if now.After(e.last) {
		e.last = now
	}
	if e.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - e.lim.TokensAt(now)
	wait := time.Duration(missing / float64(l.limit) * float64(time.Second))
	if wait <= 0 {
		wait = time.Second
	}
	return false, wait
}

// evict drops addresses idle longer than it takes their bucket to refill.
func (l *Limiter) evict(now time.Time) {
	for el := l.ll.Back(); el != nil; el = l.ll.Back() {
		if now.Sub(el.Value.(*ipEntry).last) <= l.idle {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	l.ll.Remove(el)
	delete(l.m, el.Value.(*ipEntry).key)
}

// Len is the number of tracked keys.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ll.Len()
}

// RetryAfterSeconds renders a wait as a Retry-After value: whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// ClientIP returns the client's address. With trustForwarded, X-Forwarded-For is read from
// right to left and the first address that is not loopback/private/link-local (that is,
// not one of our own proxies) is the client; if every entry is internal, the leftmost valid
// one is. Without it (or without a usable header) the TCP peer address is used.
func ClientIP(r *http.Request, trustForwarded bool) netip.Addr {
	if trustForwarded {
		var hops []netip.Addr
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, part := range strings.Split(h, ",") {
				if a, ok := parseIP(strings.TrimSpace(part)); ok {
					hops = append(hops, a)
				}
			}
		}
		for i := len(hops) - 1; i >= 0; i-- {
			if !internal(hops[i]) {
				return hops[i]
			}
		}
		if len(hops) > 0 {
			return hops[0]
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := parseIP(host)
	return a
}

func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		// "1.2.3.4:5678" or "[2001:db8::1]:443" from proxies that append the port, or "[2001:db8::1]".
		ap, err2 := netip.ParseAddrPort(s)
		if err2 == nil {
			a = ap.Addr()
		} else if a, err = netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

func internal(a netip.Addr) bool {
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified()
}

// Key is the bucket an address counts against: the address itself for IPv4, its
// /64 network for IPv6 (one subscriber usually holds a whole /64).
func Key(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return a.String()
}
