package email

import "github.com/prometheus/client_golang/prometheus"

// Message results (label values of lidorub_email_messages_total).
const (
	resIngested  = "ingested"
	resDuplicate = "duplicate"
	resAutomatic = "automatic" // auto-reply, bounce, list mail: never a lead
	resIgnored   = "ignored"   // no readable sender, or sent from the mailbox itself
	resMalformed = "malformed"
	resFailed    = "failed"
)

// Send results (label values of lidorub_email_sends_total).
const (
	sendOK        = "ok"
	sendTemporary = "temporary" // SMTP 4xx: retried
	sendPermanent = "permanent" // SMTP 5xx
	sendError     = "error"     // connection, TLS, timeout: retried
)

// Metrics are the channel's Prometheus series.
type Metrics struct {
	messages    *prometheus.CounterVec
	sends       *prometheus.CounterVec
	imapErrors  *prometheus.CounterVec
	leader      *prometheus.GaugeVec
	uidValidity *prometheus.CounterVec
	latency     *prometheus.HistogramVec
}

// NewMetrics registers the series on reg (nil: not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_email_messages_total",
			Help: "E-mail messages read, by mailbox and result (ingested, duplicate, automatic, ignored, malformed, failed).",
		}, []string{"mailbox", "result"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_email_sends_total",
			Help: "E-mail replies submitted over SMTP, by mailbox and result (ok, temporary, permanent, error).",
		}, []string{"mailbox", "result"}),
		imapErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_email_imap_errors_total",
			Help: "IMAP sessions that failed (connect, login, command), by mailbox.",
		}, []string{"mailbox"}),
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lidorub_email_reader_leader",
			Help: "1 if this instance holds the reading lease of the mailbox.",
		}, []string{"mailbox"}),
		uidValidity: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_email_uidvalidity_changes_total",
			Help: "UIDVALIDITY changes seen (the folder was rescanned), by mailbox.",
		}, []string{"mailbox"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lidorub_email_intake_seconds",
			Help:    "From the server's arrival time of a message (INTERNALDATE, whole seconds) to its ingest, by mailbox.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900},
		}, []string{"mailbox"}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.sends, m.imapErrors, m.leader, m.uidValidity, m.latency)
	}
	return m
}

// initMailbox creates every series of a mailbox at zero.
func (m *Metrics) initMailbox(mb string) {
	for _, r := range []string{resIngested, resDuplicate, resAutomatic, resIgnored, resMalformed, resFailed} {
		m.messages.WithLabelValues(mb, r)
	}
	for _, r := range []string{sendOK, sendTemporary, sendPermanent, sendError} {
		m.sends.WithLabelValues(mb, r)
	}
	m.imapErrors.WithLabelValues(mb)
	m.leader.WithLabelValues(mb)
	m.uidValidity.WithLabelValues(mb)
	m.latency.WithLabelValues(mb)
}
