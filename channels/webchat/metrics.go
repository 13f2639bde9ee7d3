package webchat

import "github.com/prometheus/client_golang/prometheus"

// Label values, every series initialised at zero.
var (
	rejectCodes = []string{"origin", "rate_limited", "invalid_token", "expired_token", "malformed", "unsupported_type",
		"too_large", "no_consent", "invalid", "unavailable"}
	outKinds = []string{"auto_ack", "off_hours", "reply", "close"}
)

type chatMetrics struct {
	messages  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	sessions  prometheus.Counter
	sent      *prometheus.CounterVec
	delivered *prometheus.CounterVec
	streams   *prometheus.CounterVec
	open      prometheus.GaugeFunc
}

// newMetrics makes the chat's metrics (registered with register; unregistered they count
// into nothing visible).
func newMetrics(h *hub) *chatMetrics {
	m := &chatMetrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webchat_messages_total",
			Help: "Visitor messages received by the website chat, per result (accepted, duplicate)."}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webchat_rejected_total",
			Help: "Website chat requests refused, per reason."}, []string{"reason"}),
		sessions: prometheus.NewCounter(prometheus.CounterOpts{Name: "lidorub_webchat_sessions_total",
			Help: "Website chat sessions started (tokens issued to new visitors)."}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webchat_sent_total",
			Help: "Messages put into visitors' outboxes, per kind."}, []string{"kind"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webchat_delivered_total",
			Help: "Messages the visitor's browser received, per transport (sse, poll)."}, []string{"transport"}),
		streams: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_webchat_streams_total",
			Help: "Event streams opened by widgets, per transport (sse, poll)."}, []string{"transport"}),
	}
	m.open = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lidorub_webchat_open_streams",
		Help: "Event streams (SSE responses and long polls) open in this process."}, func() float64 { return float64(h.open()) })
	for _, r := range []string{"accepted", "duplicate"} {
		m.messages.WithLabelValues(r)
	}
	for _, r := range rejectCodes {
		m.rejected.WithLabelValues(r)
	}
	for _, k := range outKinds {
		m.sent.WithLabelValues(k)
	}
	for _, t := range []string{"sse", "poll"} {
		m.delivered.WithLabelValues(t)
		m.streams.WithLabelValues(t)
	}
	return m
}

func (m *chatMetrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.messages, m.rejected, m.sessions, m.sent, m.delivered, m.streams, m.open} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
