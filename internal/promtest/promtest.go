// Package promtest reads single series out of a Prometheus registry in tests.
package promtest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// find reads the series of metric name whose label has value (label "": the first series):
// its histogram sample count, its gauge value, and whether it exists.
func find(t testing.TB, g prometheus.Gatherer, name, label, value string) (count uint64, gauge float64, ok bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == label && l.GetValue() == value
			}
			if match {
				return m.GetHistogram().GetSampleCount(), m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, 0, false
}

// HistogramCount is the sample count of histogram name's series with label=value (0 when
// the series does not exist: nothing was observed).
func HistogramCount(t testing.TB, g prometheus.Gatherer, name, label, value string) uint64 {
	t.Helper()
	n, _, _ := find(t, g, name, label, value)
	return n
}

// Gauge is the value of gauge name's series with label=value (label "": the first series);
// a missing series fails the test.
func Gauge(t testing.TB, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	_, v, ok := find(t, g, name, label, value)
	if !ok {
		t.Fatalf("metric %s{%s=%q} not found", name, label, value)
	}
	return v
}
