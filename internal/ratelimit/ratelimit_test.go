package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC)

func TestIPLimiterBounded(t *testing.T) {
	l := New(60, 1, 3)
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow("ip"+strconv.Itoa(i), t0); !ok {
			t.Fatalf("first request of ip%d refused", i)
		}
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("tracked %d addresses, want at most 3", n)
	}
	// The least recently seen were forgotten: ip0 starts afresh, ip4 is still limited.
	if ok, _ := l.Allow("ip4", t0); ok {
		t.Fatalf("ip4 allowed twice in a row with burst 1")
	}
	// Idle addresses are dropped once their bucket would be full again.
	if ok, _ := l.Allow("ip9", t0.Add(2*time.Minute)); !ok {
		t.Fatal("ip9 refused")
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("after 2 idle minutes %d addresses tracked, want 1", n)
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		remote string
		xff    []string
		trust  bool
		want   string
	}{
		{"203.0.113.7:5000", nil, false, "203.0.113.7"},
		{"203.0.113.7:5000", []string{"198.51.100.1"}, false, "203.0.113.7"},
		{"10.0.0.1:5000", []string{"198.51.100.1"}, true, "198.51.100.1"},
		{"10.0.0.1:5000", []string{"6.6.6.6, 198.51.100.1, 10.0.0.2"}, true, "198.51.100.1"}, // spoofed left part ignored
		{"10.0.0.1:5000", []string{"6.6.6.6", "198.51.100.1"}, true, "198.51.100.1"},
		{"10.0.0.1:5000", []string{"192.168.1.5, 10.0.0.2"}, true, "192.168.1.5"},
		{"10.0.0.1:5000", []string{"garbage"}, true, "10.0.0.1"},
		{"10.0.0.1:5000", []string{"[2001:db8::1]:443"}, true, "2001:db8::1"},
		{"[::ffff:203.0.113.9]:80", nil, false, "203.0.113.9"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/form", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientIP(r, tc.trust).String(); got != tc.want {
			t.Errorf("clientIP(%s, %q, trust=%v) = %s, want %s", tc.remote, tc.xff, tc.trust, got, tc.want)
		}
	}
}
