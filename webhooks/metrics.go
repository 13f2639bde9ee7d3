package webhooks

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/metrics"
)

// Metrics of the event webhooks; the endpoint label comes from the config only.
type Metrics struct {
	Deliveries *prometheus.CounterVec   // endpoint: 2xx answers
	Failures   *prometheus.CounterVec   // endpoint, reason: failed attempts
	Retries    *prometheus.CounterVec   // endpoint: attempts scheduled again
	Dead       *prometheus.CounterVec   // endpoint: items dead-lettered
	Dropped    *prometheus.CounterVec   // endpoint: items of erased leads, not sent
	Lag        *prometheus.HistogramVec // endpoint: event -> delivered, seconds
	Depth      *prometheus.GaugeVec     // endpoint, queue (pending | dead)
	Disabled   *prometheus.GaugeVec     // endpoint: 1 while disabled by a 410
}

// failure reasons (lidorub_webhook_failures_total{reason}).
var failureReasons = []string{"timeout", "network", "5xx", "429", "408", "409", "425", "410", "4xx", "other"}

func newMetrics(reg prometheus.Registerer, endpoints []string) (*Metrics, error) {
	m := &Metrics{
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webhook_deliveries_total",
			Help: "Event webhook deliveries answered 2xx."}, []string{"endpoint"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webhook_failures_total",
			Help: "Failed event webhook delivery attempts, by reason (timeout, network, 5xx, 429, 408, 409, 425, 410, 4xx, other)."},
			[]string{"endpoint", "reason"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webhook_retries_total",
			Help: "Event webhook deliveries scheduled for another attempt."}, []string{"endpoint"}),
		Dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webhook_dead_letters_total",
			Help: "Event webhook items dead-lettered (last retry failed, a refusing 4xx, or 410)."}, []string{"endpoint"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webhook_dropped_total",
			Help: "Event webhook items not sent because their lead was erased."}, []string{"endpoint"}),
		Lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lidorub_webhook_lag_seconds",
			Help:    "Seconds from the event to its successful delivery.",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 15, 60, 300, 1800, 7200, 36000, 86400, 432000}}, []string{"endpoint"}),
		Depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lidorub_webhook_outbox_depth",
			Help: "Event webhook items in the outbox: pending (to deliver or retry) and dead (dead letters)."},
			[]string{"endpoint", "queue"}),
		Disabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lidorub_webhook_endpoint_disabled",
			Help: "1 while an endpoint is disabled (it answered 410 Gone); a replay re-enables it."}, []string{"endpoint"}),
	}
	var err error
	if reg != nil {
		if m.Deliveries, err = metrics.Register(reg, m.Deliveries); err != nil {
			return nil, err
		}
		if m.Failures, err = metrics.Register(reg, m.Failures); err != nil {
			return nil, err
		}
		if m.Retries, err = metrics.Register(reg, m.Retries); err != nil {
			return nil, err
		}
		if m.Dead, err = metrics.Register(reg, m.Dead); err != nil {
			return nil, err
		}
		if m.Dropped, err = metrics.Register(reg, m.Dropped); err != nil {
			return nil, err
		}
		if m.Lag, err = metrics.Register(reg, m.Lag); err != nil {
			return nil, err
		}
		if m.Depth, err = metrics.Register(reg, m.Depth); err != nil {
			return nil, err
		}
		if m.Disabled, err = metrics.Register(reg, m.Disabled); err != nil {
			return nil, err
		}
	}
	for _, ep := range endpoints {
		m.Deliveries.WithLabelValues(ep)
		m.Retries.WithLabelValues(ep)
		m.Dead.WithLabelValues(ep)
		m.Dropped.WithLabelValues(ep)
		m.Lag.WithLabelValues(ep)
		m.Depth.WithLabelValues(ep, "pending")
		m.Depth.WithLabelValues(ep, "dead")
		m.Disabled.WithLabelValues(ep)
		for _, r := range failureReasons {
			m.Failures.WithLabelValues(ep, r)
		}
	}
	return m, nil
}
