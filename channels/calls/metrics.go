package calls

import "github.com/prometheus/client_golang/prometheus"

// Results of a webhook (label values of lidorub_calls_webhooks_total).
const (
	resAccepted    = "accepted"    // a call stored
	resDuplicate   = "duplicate"   // a redelivery of a stored call
	resForged      = "forged"      // bad signature or key: refused
	resMalformed   = "malformed"   // unreadable: refused
	resUnavailable = "unavailable" // the ingest failed: the provider retries
)

var (
	providers = []string{Zadarma, Mango, Generic}
	results   = []string{resAccepted, resDuplicate, resForged, resMalformed, resUnavailable}
	outcomes  = []string{"missed", "answered", "out_connected", "out_attempt"}
	ignores   = []string{ignInternal, ignNoNumber, ignUnknownExt, ignNotFinal}
)

type metrics struct {
	webhooks *prometheus.CounterVec // provider, result
	calls    *prometheus.CounterVec // provider, outcome
	ignored  *prometheus.CounterVec // provider, reason
}

// newMetrics makes the channel's metrics, every series initialised at zero, and registers
// them on reg (nil: not exported).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_calls_webhooks_total",
			Help: "Call webhooks received, per provider and result (accepted, duplicate, forged, malformed, unavailable)."},
			[]string{"provider", "result"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_calls_total",
			Help: "Calls stored, per provider and outcome (missed: a callback lead; answered; out_connected; out_attempt)."},
			[]string{"provider", "outcome"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_calls_ignored_total",
			Help: "Call events acknowledged without an item, per provider and reason (internal, no_number, unknown_extension, not_final)."},
			[]string{"provider", "reason"}),
	}
	for _, p := range providers {
		for _, r := range results {
			m.webhooks.WithLabelValues(p, r)
		}
		for _, o := range outcomes {
			m.calls.WithLabelValues(p, o)
		}
		for _, r := range ignores {
			m.ignored.WithLabelValues(p, r)
		}
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.webhooks, m.calls, m.ignored} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
