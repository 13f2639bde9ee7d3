// Package metrics defines the gateway-level Prometheus metrics: the pipeline's counters and
// the latency histograms, labelled by channel and manager. Metrics are created on an injected
// Registerer; labels take values only from config (manager ids) or from the channel table
// (app builds the channel names from it), so cardinality stays bounded. Every label series
// is initialised at zero.
//
// The other metrics live with the component that owns them, on the same registerer:
//
//   - router.Router.Collector and AgeCollector: gauges read from Redis at scrape time (lidorub_managers,
//     lidorub_manager_open_conversations, lidorub_waiting_conversations,
//     lidorub_stream_length, lidorub_stream_pending, lidorub_stream_dead_letter,
//     lidorub_redis_up, lidorub_oldest_waiting_seconds);
//   - channels/webform: lidorub_form_rejected_total;
//   - channels/telegram/metrics.go: lidorub_telegram_*;
//   - channels/meta/metrics.go (Instagram, WhatsApp Cloud): lidorub_meta_*;
//   - channels/whatsapp: lidorub_whatsapp_connected, lidorub_whatsapp_ignored_total;
//   - crm/metrics.go (amoCRM, Bitrix24 connectors): lidorub_crm_*.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/channels"
)

// Metrics holds the gateway's metrics.
type Metrics struct {
	Received         *prometheus.CounterVec // channel
	Duplicates       *prometheus.CounterVec // channel
	Sent             *prometheus.CounterVec // channel, kind
	SendFailed       *prometheus.CounterVec // channel, reason (permanent|temporary)
	SpeedToLead      *prometheus.HistogramVec
	TimeToFirstOffer *prometheus.HistogramVec
	OfferToAccept    *prometheus.HistogramVec // manager
	AcceptToReply    *prometheus.HistogramVec // manager
	Conversations    *prometheus.CounterVec   // channel
	Offers           *prometheus.CounterVec   // manager
	Reoffers         prometheus.Counter
	Breaches         *prometheus.CounterVec // kind (offer_timeout|first_response|sales_accept|sales_first_contact)
	Escalations      *prometheus.CounterVec // reason
	Qualified        *prometheus.CounterVec // manager, level
	Closed           *prometheus.CounterVec // channel
	TimerLateness    prometheus.Histogram
	DeadLettered     *prometheus.CounterVec // stream
	HandlerFailures  *prometheus.CounterVec // stream
	Alerts           *prometheus.CounterVec // channel
	InboundIgnored   *prometheus.CounterVec // channel, kind (edit|reaction|delete)
	Corrections      *prometheus.CounterVec // field (name|phone|email)
}

// latency buckets from 10 ms to 1 h: speed-to-lead spans both software and human time.
var humanBuckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1800, 3600}

// New creates the metrics on reg. managers are the configured manager ids, channels the
// names of the channels whose series start at zero (app passes the channel table's names;
// other channels' series appear on first use).
func New(reg prometheus.Registerer, managers []string, channelNames ...string) *Metrics {
	f := func(c prometheus.Collector) {
		if reg != nil {
			reg.MustRegister(c)
		}
	}
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_messages_received_total",
			Help: "Inbound items made durable, per channel (duplicates excluded)."}, []string{"channel"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_messages_duplicate_total",
			Help: "Inbound items dropped as duplicates of an earlier delivery, per channel."}, []string{"channel"}),
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_messages_sent_total",
			Help: "Outbound messages delivered to the channel, per channel and kind (auto_ack, off_hours, reply, close)."}, []string{"channel", "kind"}),
		SendFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_messages_send_failed_total",
			Help: "Outbound send attempts that failed, per channel and reason (permanent: reported to the manager; temporary: retried)."}, []string{"channel", "reason"}),
		SpeedToLead: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lidorub_speed_to_lead_seconds",
			Help: "First inbound message to first human reply delivered (or form lead marked contacted), per channel. Automatic replies never count.", Buckets: humanBuckets}, []string{"channel"}),
		TimeToFirstOffer: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lidorub_time_to_first_offer_seconds",
			Help: "First inbound message to the first offer to a lead-manager, per channel.", Buckets: humanBuckets}, []string{"channel"}),
		OfferToAccept: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lidorub_offer_to_accept_seconds",
			Help: "Offer to acceptance, per lead-manager.", Buckets: humanBuckets}, []string{"manager"}),
		AcceptToReply: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lidorub_accept_to_first_reply_seconds",
			Help: "Acceptance to the manager's first reply, per lead-manager.", Buckets: humanBuckets}, []string{"manager"}),
		Conversations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_conversations_created_total",
			Help: "Conversations created (a new lead, or a customer writing again after closing), per channel."}, []string{"channel"}),
		Offers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_offers_total",
			Help: "Offers made, per lead-manager."}, []string{"manager"}),
		Reoffers: prometheus.NewCounter(prometheus.CounterOpts{Name: "lidorub_reoffers_total",
			Help: "Offers of a conversation that had been offered before (after a lapse, a pass or a breach)."}),
		Breaches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_sla_breaches_total",
			Help: "SLA breaches: offer_timeout (offer not accepted in time), first_response (no human reply in time after acceptance), sales_accept (a sales offer not accepted in time), sales_first_contact (a sales manager did not contact the customer in time)."}, []string{"kind"}),
		Escalations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_escalations_total",
			Help: "Escalations to the escalation target, per reason (max_offers, send_failure, channel)."}, []string{"reason"}),
		Qualified: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_conversations_qualified_total",
			Help: "Conversations qualified by a lead-manager, per manager and level (hot, warm, tourist)."}, []string{"manager", "level"}),
		Closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_conversations_closed_total",
			Help: "Conversations closed, per channel."}, []string{"channel"}),
		TimerLateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lidorub_timer_lateness_seconds",
			Help:    "How late speed-to-lead timers fire after their deadline.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_dead_lettered_total",
			Help: "Stream entries moved to a dead-letter stream after repeated failures, per stream."}, []string{"stream"}),
		HandlerFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_handler_failures_total",
			Help: "Stream entries whose processing failed (left pending for a retry), per stream."}, []string{"stream"}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_channel_alerts_total",
			Help: "Operational alerts raised by channels (expired token, logged-out device...), per channel."}, []string{"channel"}),
		InboundIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_inbound_ignored_total",
			Help: "Customer edits, reactions and deletions that referred to no open conversation (dropped, never a lead), per channel and kind."}, []string{"channel", "kind"}),
		Corrections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_contact_corrections_total",
			Help: "Corrections of a contact's personal data at the customer's request (right to rectification), per field (name, phone, email)."}, []string{"field"}),
	}
	for _, c := range []prometheus.Collector{m.Received, m.Duplicates, m.Sent, m.SendFailed, m.SpeedToLead, m.TimeToFirstOffer,
		m.OfferToAccept, m.AcceptToReply, m.Conversations, m.Offers, m.Reoffers, m.Breaches, m.Escalations, m.Qualified,
		m.Closed, m.TimerLateness, m.DeadLettered, m.HandlerFailures, m.Alerts, m.InboundIgnored, m.Corrections} {
		f(c)
	}
	for _, field := range []string{"name", "phone", "email"} {
		m.Corrections.WithLabelValues(field)
	}
	for _, ch := range channelNames {
		m.Received.WithLabelValues(ch)
		m.Duplicates.WithLabelValues(ch)
		m.SpeedToLead.WithLabelValues(ch)
		m.TimeToFirstOffer.WithLabelValues(ch)
		m.Conversations.WithLabelValues(ch)
		m.Closed.WithLabelValues(ch)
		m.Alerts.WithLabelValues(ch)
		for _, k := range []string{channels.KindEdit, channels.KindReaction, channels.KindDelete, channels.KindCall} {
			m.InboundIgnored.WithLabelValues(ch, k)
		}
		for _, r := range []string{"permanent", "temporary"} {
			m.SendFailed.WithLabelValues(ch, r)
		}
		for _, k := range []string{"auto_ack", "off_hours", "reply", "close"} {
			m.Sent.WithLabelValues(ch, k)
		}
	}
	for _, id := range managers {
		m.OfferToAccept.WithLabelValues(id)
		m.AcceptToReply.WithLabelValues(id)
		m.Offers.WithLabelValues(id)
		for _, l := range []string{"hot", "warm", "tourist"} {
			m.Qualified.WithLabelValues(id, l)
		}
	}
	for _, k := range []string{"offer_timeout", "first_response", "sales_accept", "sales_first_contact"} {
		m.Breaches.WithLabelValues(k)
	}
	for _, r := range []string{"max_offers", "send_failure", "channel"} {
		m.Escalations.WithLabelValues(r)
	}
	return m
}

// Ingested implements store.IngestObserver.
func (m *Metrics) Ingested(channel string, duplicate bool) {
	if duplicate {
		m.Duplicates.WithLabelValues(channel).Inc()
		return
	}
	m.Received.WithLabelValues(channel).Inc()
}

// EntryDeadLettered implements store.ConsumerObserver.
func (m *Metrics) EntryDeadLettered(stream string) { m.DeadLettered.WithLabelValues(stream).Inc() }

// EntryFailed implements store.ConsumerObserver.
func (m *Metrics) EntryFailed(stream string) { m.HandlerFailures.WithLabelValues(stream).Inc() }
