package bench

import (
	"math"
	"sort"
	"sync"
	"time"
)

// Latency summarises a set of durations, in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(s) {
			i = len(s) - 1
		}
		return msf(s[i])
	}
	return Latency{N: len(s), P50: q(0.50), P99: q(0.99), P999: q(0.999), Max: msf(s[len(s)-1])}
}

func msf(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// samples collects durations from many goroutines, bounded in count.
type samples struct {
	mu sync.Mutex
	ds []time.Duration
}

const maxSamples = 2_000_000

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	if len(s.ds) < maxSamples {
		s.ds = append(s.ds, d)
	}
	s.mu.Unlock()
}

func (s *samples) summary() Latency {
	s.mu.Lock()
	defer s.mu.Unlock()
	return summarize(s.ds)
}
