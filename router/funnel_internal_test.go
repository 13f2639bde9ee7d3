package router

import (
	"testing"
	"time"
)

// The Kaplan–Meier percentiles, computed by hand (S = the share still unanswered).
func TestKaplanMeierQuantiles(t *testing.T) {
	s := time.Second
	ev := func(d time.Duration) survObs { return survObs{D: d, Event: true} }
	ce := func(d time.Duration) survObs { return survObs{D: d} }
	for _, tc := range []struct {
		name     string
		obs      []survObs
		p50, p95 time.Duration // -1 = not reached
	}{
		// all answered: the plain empirical quantiles (S steps 0.75, 0.5, 0.25, 0)
		{"no censoring", []survObs{ev(10 * s), ev(20 * s), ev(30 * s), ev(40 * s)}, 20 * s, 40 * s},
		// 1e 2c 3e 4e 5c: S(1)=4/5, S(3)=4/5*2/3=0.533, S(4)=0.533*1/2=0.267 -> p50 4; never 0.05
		{"censored", []survObs{ev(1 * s), ce(2 * s), ev(3 * s), ev(4 * s), ce(5 * s)}, 4 * s, -1},
		// two censored at 1 s leave 3 at risk: S(2)=2/3, S(3)=1/3, S(9)=0
		{"censored early", []survObs{ce(1 * s), ce(1 * s), ev(2 * s), ev(3 * s), ev(9 * s)}, 3 * s, 9 * s},
		// a censoring at an event time is still at risk then: S(5)=1-1/2, p50 5
		{"tie", []survObs{ev(5 * s), ce(5 * s)}, 5 * s, -1},
		// nobody answered
		{"none answered", []survObs{ce(60 * s), ce(120 * s)}, -1, -1},
		{"empty", nil, -1, -1},
		// 17 leads of the funnel scenario's telegram row: p50 180 (S=8/17), p95 3670 (S=0)
		{"scenario", append(append(append(rep(ev(20*s), 4), ev(60*s)), append(rep(ev(120*s), 2), rep(ev(180*s), 2)...)...),
			append(append(rep(ce(300*s), 2), rep(ev(600*s), 3)...), append(rep(ce(1200*s), 2), ev(3670*s))...)...), 180 * s, 3670 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, ok := kmQuantiles(tc.obs, 0.5, 0.95)
			for i, want := range []time.Duration{tc.p50, tc.p95} {
				got := ts[i]
				if !ok[i] {
					got = -1
				}
				if got != want {
					t.Errorf("p%d = %v, want %v", []int{50, 95}[i], got, want)
				}
			}
		})
	}
}

func rep(o survObs, n int) []survObs {
	out := make([]survObs, n)
	for i := range out {
		out[i] = o
	}
	return out
}
