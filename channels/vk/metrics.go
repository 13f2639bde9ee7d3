package vk

import (
	"github.com/prometheus/client_golang/prometheus"

	lmetrics "github.com/lidorub/lidorub/metrics"
)

// Callback results (label "result" of lidorub_vk_callbacks_total).
const (
	cbStored       = "stored"       // a message or an edit made durable
	cbDuplicate    = "duplicate"    // VK's retry of one already stored
	cbState        = "state"        // message_allow / message_deny recorded
	cbConfirmation = "confirmation" // the confirmation handshake answered
	cbIgnored      = "ignored"      // the community's own messages, chats, other types
	cbBadSecret    = "bad_secret"   // missing or wrong secret, or another group_id
	cbBadPayload   = "bad_payload"  // not a callback, or too large
	cbFailed       = "failed"       // Redis failed: not answered "ok", VK retries
)

// Send results (label "result" of lidorub_vk_sends_total).
const (
	sendOK          = "ok"
	sendRateLimited = "rate_limited"
	sendPermanent   = "permanent"
	sendTemporary   = "temporary"
)

var callbackTypes = []string{TypeConfirmation, TypeMessageNew, TypeMessageEdit, TypeMessageReply, TypeMessageAllow, TypeMessageDeny, "other"}

// Metrics are the channel's series.
type Metrics struct {
	callbacks *prometheus.CounterVec // lidorub_vk_callbacks_total{community,type,result}
	sends     *prometheus.CounterVec // lidorub_vk_sends_total{community,result}
}

// newMetrics registers (or reuses) the series on reg (nil: not exported) and initialises
// every series of communities at zero.
func newMetrics(reg prometheus.Registerer, communities []string) (*Metrics, error) {
	m := &Metrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_vk_callbacks_total",
			Help: "VK Callback API requests by community, type and result (stored, duplicate, state, confirmation, ignored, bad_secret, bad_payload, failed).",
		}, []string{"community", "type", "result"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_vk_sends_total",
			Help: "messages.send calls by community and result (ok, rate_limited, permanent, temporary).",
		}, []string{"community", "result"}),
	}
	if reg != nil {
		var err error
		if m.callbacks, err = lmetrics.Register(reg, m.callbacks); err != nil {
			return nil, err
		}
		if m.sends, err = lmetrics.Register(reg, m.sends); err != nil {
			return nil, err
		}
	}
	for _, g := range communities {
		for _, t := range callbackTypes {
			for _, r := range []string{cbStored, cbDuplicate, cbState, cbConfirmation, cbIgnored, cbBadSecret, cbBadPayload, cbFailed} {
				m.callbacks.WithLabelValues(g, t, r)
			}
		}
		for _, r := range []string{sendOK, sendRateLimited, sendPermanent, sendTemporary} {
			m.sends.WithLabelValues(g, r)
		}
	}
	return m, nil
}

// typeLabel is the metric label of a callback type.
func typeLabel(t string) string {
	for _, k := range callbackTypes {
		if t == k {
			return t
		}
	}
	return "other"
}
