package simulate

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestErlangFormula(t *testing.T) {
	// c = 2, a = 1 erlang: C = (a^2/2! * 2/(2-1)) / (1 + a + 1) = 1/3.
	if got := ErlangC(2, 1); math.Abs(got-1.0/3) > 1e-12 {
		t.Fatalf("ErlangC(2, 1) = %v, want 1/3", got)
	}
	// c = 1 is M/M/1: C = ρ.
	if got := ErlangC(1, 0.7); math.Abs(got-0.7) > 1e-12 {
		t.Fatalf("ErlangC(1, 0.7) = %v, want 0.7", got)
	}
	// M/M/1 mean wait ρ/(μ-λ): λ = 1/min, μ = 2/min: 0.5/(1/60) = 30 s.
	if got := ErlangMeanWait(1, 1.0/60, 2.0/60); math.Abs(got.Seconds()-30) > 1e-6 {
		t.Fatalf("mean wait %v, want 30s", got)
	}
	if got := ErlangServers(2.0/60, 1.0/60, time.Minute, 0.95); got != 4 {
		t.Fatalf("ErlangServers = %d, want 4", got)
	}
}

// erlangScenario: Poisson arrivals at lambdaPerMin, exponential handling with the given mean,
// c lead-managers of capacity 1 who notice every offer at once and reply at once: an M/M/c
// queue, where speed-to-lead is the waiting time.
func erlangScenario(lambdaPerMin float64, meanHandling time.Duration, c int, hours int) string {
	per := make([]string, 24)
	for h := range per {
		per[h] = "0"
		if h >= 9 && h < 9+hours {
			per[h] = fmt.Sprint(lambdaPerMin * 60)
		}
	}
	return fmt.Sprintf(`
name: erlang
arrivals:
  per_hour: [%s]
lead_managers:
  behaviour: {notice: 0s, ignore: 0, reply: 0s, handling: {mean: %s}}
  roster: [{id: m, count: %d, capacity: 1}]
router: {offer_timeout: 10m, first_response: 10m}
drain: 2h
`, join(per), meanHandling, c)
}

func join(xs []string) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += x
	}
	return s
}

// TestErlangCAgreement checks the whole simulator (arrivals, the router's queue and offers,
// the manager model, the measurement of speed-to-lead) against the M/M/c formulas: the
// probability of waiting at all (Erlang C), of waiting over 30 s, and the mean wait.
//
// Runs: 6 independent runs of 3 simulated hours per point; leads of the first hour are
// warm-up (the queue starts empty) and not counted: about 700-1,400 counted leads per point. Waiting times in a queue are strongly correlated (a busy spell delays everyone in
// it), so the tolerance is statistical: each figure's mean over the runs must be within
// 3 standard errors (estimated from the spread between the independent runs) plus 0.02
// (for the mean wait, a heavy-tailed figure: plus 25 %) of the formula, and the standard error must be small enough
// (< 0.07 for probabilities) for the check to have teeth. (A longer check, 8 runs of 6 hours
// at λ = 2/min, c = 3, gave P(wait > 0) 0.453 ± 0.019 against Erlang C 0.444 and
// P(wait > 30 s) 0.267 ± 0.024 against 0.270.)
func TestErlangCAgreement(t *testing.T) {
	be := redisBackend(t)
	points := []struct {
		lambdaPerMin float64
		mean         time.Duration
		c            int
	}{
		{1, time.Minute, 2},      // a = 1, ρ = 0.5
		{2, time.Minute, 3},      // a = 2, ρ = 0.67
		{1, 30 * time.Second, 1}, // M/M/1, ρ = 0.5
	}
	const runs, hours = 6, 3
	for i, p := range points {
		p, seed := p, uint64(100*(i+1)) // unrelated randomness per point
		t.Run(fmt.Sprintf("lambda=%v/min,S=%s,c=%d", p.lambdaPerMin, p.mean, p.c), func(t *testing.T) {
			sc := parse(t, erlangScenario(p.lambdaPerMin, p.mean, p.c, hours)+"warmup: 10h\n")
			o := Options{Scenario: sc, Runs: runs, Seed: seed, Backend: be, Parallel: 4}
			if err := o.defaults(); err != nil {
				t.Fatal(err)
			}
			leads, err := o.leads()
			if err != nil {
				t.Fatal(err)
			}
			res, err := o.runResults(context.Background(), []*variant{o.variantFor(nil)}, leads)
			if err != nil {
				t.Fatal(err)
			}
			lambda, mu := p.lambdaPerMin/60, 1/p.mean.Seconds()
			checks := []struct {
				name         string
				f            func(w []float64) float64
				want         float64
				slack, maxSE float64
			}{
				{"P(wait > 0)", func(w []float64) float64 { return fracOver(w, 0.0005) }, ErlangC(p.c, lambda/mu), 0.02, 0.07},
				{"P(wait > 30s)", func(w []float64) float64 { return fracOver(w, 30) }, ErlangWaitOver(p.c, lambda, mu, 30*time.Second), 0.02, 0.07},
				{"mean wait (s)", meanOf, ErlangMeanWait(p.c, lambda, mu).Seconds(), 0.25 * ErlangMeanWait(p.c, lambda, mu).Seconds(), math.Inf(1)},
			}
			n := 0
			for _, r := range res[0] {
				for _, l := range r.leads {
					if l.counted && !l.answered {
						t.Fatalf("a lead was never answered")
					}
				}
			}
			for _, c := range checks {
				var per []float64
				for _, r := range res[0] {
					var w []float64
					for _, l := range r.leads {
						if l.counted {
							w = append(w, l.wait.Seconds())
						}
					}
					n += len(w)
					per = append(per, c.f(w))
				}
				m, se := meanSE(per)
				t.Logf("%-14s simulated %.3f ± %.3f (SE over %d runs), formula %.3f", c.name, m, se, len(per), c.want)
				if se > c.maxSE {
					t.Errorf("%s: standard error %.3f too large for a meaningful check", c.name, se)
				}
				if math.Abs(m-c.want) > 3*se+c.slack {
					t.Errorf("%s: simulated %.3f ± %.3f, M/M/c says %.3f", c.name, m, se, c.want)
				}
			}
			t.Logf("%d counted leads", n/len(checks))
		})
	}
}

func fracOver(w []float64, sec float64) float64 {
	if len(w) == 0 {
		return 0
	}
	k := 0
	for _, x := range w {
		if x > sec {
			k++
		}
	}
	return float64(k) / float64(len(w))
}

func meanOf(w []float64) float64 {
	s := 0.0
	for _, x := range w {
		s += x
	}
	return s / math.Max(1, float64(len(w)))
}

// meanSE is the mean of independent estimates and its standard error.
func meanSE(xs []float64) (float64, float64) {
	m := meanOf(xs)
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	v /= float64(len(xs) - 1)
	return m, math.Sqrt(v / float64(len(xs)))
}
