package simulate

import (
	"math"
	"time"
)

// ErlangC is the probability that an arrival waits in an M/M/c queue with c servers and
// offered load a = λ/μ erlangs (1 if the queue is unstable, a >= c).
func ErlangC(c int, a float64) float64 {
	if c <= 0 || a >= float64(c) {
		return 1
	}
	// Erlang B by the stable recursion, then C = B / (1 - ρ(1 - B)).
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	rho := a / float64(c)
	return b / (1 - rho*(1-b))
}

// ErlangWaitOver is P(W > t) in M/M/c FCFS: C(c, a)·exp(-(cμ-λ)t). lambda and mu per second.
func ErlangWaitOver(c int, lambda, mu float64, t time.Duration) float64 {
	a := lambda / mu
	if a >= float64(c) {
		return 1
	}
	return ErlangC(c, a) * math.Exp(-(float64(c)*mu-lambda)*t.Seconds())
}

// ErlangMeanWait is E[W] in M/M/c: C(c, a) / (cμ - λ).
func ErlangMeanWait(c int, lambda, mu float64) time.Duration {
	a := lambda / mu
	if a >= float64(c) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ErlangC(c, a) / (float64(c)*mu - lambda) * float64(time.Second))
}

// ErlangServers is the smallest c with P(W <= t) >= p in M/M/c (the classic staffing answer).
func ErlangServers(lambda, mu float64, t time.Duration, p float64) int {
	for c := int(lambda/mu) + 1; ; c++ {
		if 1-ErlangWaitOver(c, lambda, mu, t) >= p {
			return c
		}
	}
}
