package telegram

import "github.com/prometheus/client_golang/prometheus"

// Update results (label values of lidorub_telegram_updates_total).
const (
	resIngested  = "ingested"
	resDuplicate = "duplicate"
	resStaff     = "staff"
	resIgnored   = "ignored"
	resMalformed = "malformed"
	resFailed    = "failed"
)

// Send results (label values of lidorub_telegram_sends_total).
const (
	sendOK         = "ok"
	sendRetryAfter = "retry_after"
	sendPermanent  = "permanent"
	sendError      = "error"
)

// Metrics are the channel's Prometheus series. One per process; the staff bot shares it.
type Metrics struct {
	updates  *prometheus.CounterVec
	sends    *prometheus.CounterVec
	rejected *prometheus.CounterVec
	polls    *prometheus.CounterVec
	leader   *prometheus.GaugeVec
}

// NewMetrics registers the series on reg (nil: not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_telegram_updates_total",
			Help: "Telegram updates received, by bot and result (ingested, duplicate, staff, ignored, malformed, failed).",
		}, []string{"bot", "result"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_telegram_sends_total",
			Help: "Messages sent to Telegram customers, by bot and result (ok, retry_after, permanent, error).",
		}, []string{"bot", "result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_telegram_webhook_rejected_total",
			Help: "Webhook requests rejected, by bot and reason (secret, body).",
		}, []string{"bot", "reason"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_telegram_poll_errors_total",
			Help: "getUpdates calls that failed, by bot.",
		}, []string{"bot"}),
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lidorub_telegram_poller_leader",
			Help: "1 if this instance holds the polling lease of the bot.",
		}, []string{"bot"}),
	}
	if reg != nil {
		reg.MustRegister(m.updates, m.sends, m.rejected, m.polls, m.leader)
	}
	return m
}

// init creates every series of bot at zero.
func (m *Metrics) initBot(bot string) {
	for _, r := range []string{resIngested, resDuplicate, resStaff, resIgnored, resMalformed, resFailed} {
		m.updates.WithLabelValues(bot, r)
	}
	for _, r := range []string{sendOK, sendRetryAfter, sendPermanent, sendError} {
		m.sends.WithLabelValues(bot, r)
	}
	for _, r := range []string{"secret", "body"} {
		m.rejected.WithLabelValues(bot, r)
	}
	m.polls.WithLabelValues(bot)
	m.leader.WithLabelValues(bot)
}
