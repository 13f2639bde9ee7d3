package crm

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the connectors' metrics, one set for all of them (labelled by crm), created
// on an injected registerer with every series of the given connectors at zero.
type Metrics struct {
	Pushes *prometheus.CounterVec // crm: records created in the CRM
	// Corrections: crm: contact corrections sent to the CRM
	Corrections *prometheus.CounterVec
	Failures    *prometheus.CounterVec // crm, reason (temporary|throttled|unauthorized|permanent)
	Outcomes    *prometheus.CounterVec // crm, result (won|lost|other|refused): statuses applied to leads
	Webhooks    *prometheus.CounterVec // crm, result (accepted|rejected|ignored)
}

// NewMetrics registers the metrics on reg (nil: not exported) for the named connectors.
func NewMetrics(reg prometheus.Registerer, names ...string) *Metrics {
	m := &Metrics{
		Pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_crm_pushes_total",
			Help: "Leads created as CRM records."}, []string{"crm"}),
		Corrections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_crm_corrections_total",
			Help: "Contact corrections (the customer's right to correct their data) sent to the CRM."}, []string{"crm"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_crm_failures_total",
			Help: "Failed CRM API calls, by kind (the work is retried)."}, []string{"crm", "reason"}),
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_crm_outcomes_total",
			Help: "CRM statuses applied to leads: won, lost, another status recorded on the timeline, or refused (an outcome the lead could not take in its state, recorded as a status)."}, []string{"crm", "result"}),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_crm_webhooks_total",
			Help: "Inbound CRM webhooks: accepted (queued), rejected (bad secret or body), ignored (another event)."}, []string{"crm", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.Pushes, m.Corrections, m.Failures, m.Outcomes, m.Webhooks)
	}
	for _, n := range names {
		m.Pushes.WithLabelValues(n)
		m.Corrections.WithLabelValues(n)
		for _, r := range []string{"temporary", "throttled", "unauthorized", "permanent"} {
			m.Failures.WithLabelValues(n, r)
		}
		for _, r := range []string{"won", "lost", "other", "refused"} {
			m.Outcomes.WithLabelValues(n, r)
		}
		for _, r := range []string{"accepted", "rejected", "ignored"} {
			m.Webhooks.WithLabelValues(n, r)
		}
	}
	return m
}
