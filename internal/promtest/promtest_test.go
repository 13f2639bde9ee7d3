package promtest_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/internal/promtest"
)

func TestReadsOneSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "h_seconds", Help: "h"}, []string{"channel"})
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "g", Help: "g"}, []string{"stream"})
	reg.MustRegister(h, g)
	h.WithLabelValues("telegram").Observe(1)
	h.WithLabelValues("telegram").Observe(2)
	h.WithLabelValues("form").Observe(1)
	g.WithLabelValues("outbound").Set(3)
	g.WithLabelValues("inbound").Set(5)
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"telegram count", float64(promtest.HistogramCount(t, reg, "h_seconds", "channel", "telegram")), 2},
		{"form count", float64(promtest.HistogramCount(t, reg, "h_seconds", "channel", "form")), 1},
		{"unobserved count", float64(promtest.HistogramCount(t, reg, "h_seconds", "channel", "whatsapp")), 0},
		{"gauge by label", promtest.Gauge(t, reg, "g", "stream", "inbound"), 5},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}
