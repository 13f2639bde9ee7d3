package viber

import (
	"github.com/prometheus/client_golang/prometheus"

	lmetrics "github.com/lidorub/lidorub/metrics"
)

// Callback results (label "result" of lidorub_viber_callbacks_total).
const (
	cbStored       = "stored"        // a message or status made durable
	cbDuplicate    = "duplicate"     // a redelivery of one already stored
	cbState        = "state"         // subscribed, unsubscribed, conversation_started recorded
	cbIgnored      = "ignored"       // the webhook check, a message with nothing usable
	cbBadSignature = "bad_signature" // missing or wrong X-Viber-Content-Signature
	cbBadPayload   = "bad_payload"   // not a callback, or too large
	cbFailed       = "failed"        // Redis failed: answered 500, Viber retries
)

// Send results (label "result" of lidorub_viber_sends_total).
const (
	sendOK          = "ok"
	sendRateLimited = "rate_limited"
	sendPermanent   = "permanent"
	sendTemporary   = "temporary"
)

// Metrics are the channel's series.
type Metrics struct {
	callbacks  *prometheus.CounterVec // lidorub_viber_callbacks_total{bot,event,result}
	sends      *prometheus.CounterVec // lidorub_viber_sends_total{bot,result}
	registered *prometheus.GaugeVec   // lidorub_viber_webhook_registered{bot}
}

var callbackEvents = []string{EventMessage, EventConversationStarted, EventSubscribed, EventUnsubscribed,
	EventDelivered, EventSeen, EventFailed, EventWebhook, "other"}

// newMetrics registers (or reuses) the series on reg (nil: not exported) and initialises
// every series of bots at zero.
func newMetrics(reg prometheus.Registerer, bots []string) (*Metrics, error) {
	m := &Metrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_viber_callbacks_total",
			Help: "Viber callbacks by bot, event and result (stored, duplicate, state, ignored, bad_signature, bad_payload, failed).",
		}, []string{"bot", "event", "result"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_viber_sends_total",
			Help: "send_message calls by bot and result (ok, rate_limited, permanent, temporary).",
		}, []string{"bot", "result"}),
		registered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lidorub_viber_webhook_registered",
			Help: "1 once this process registered the bot's webhook with set_webhook.",
		}, []string{"bot"}),
	}
	if reg != nil {
		var err error
		if m.callbacks, err = lmetrics.Register(reg, m.callbacks); err != nil {
			return nil, err
		}
		if m.sends, err = lmetrics.Register(reg, m.sends); err != nil {
			return nil, err
		}
		if m.registered, err = lmetrics.Register(reg, m.registered); err != nil {
			return nil, err
		}
	}
	for _, b := range bots {
		for _, e := range callbackEvents {
			for _, r := range []string{cbStored, cbDuplicate, cbState, cbIgnored, cbBadSignature, cbBadPayload, cbFailed} {
				m.callbacks.WithLabelValues(b, e, r)
			}
		}
		for _, r := range []string{sendOK, sendRateLimited, sendPermanent, sendTemporary} {
			m.sends.WithLabelValues(b, r)
		}
		m.registered.WithLabelValues(b)
	}
	return m, nil
}

// event is the label of a callback's event.
func event(e string) string {
	for _, k := range callbackEvents {
		if e == k {
			return e
		}
	}
	return "other"
}
