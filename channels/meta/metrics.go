package meta

import (
	"github.com/prometheus/client_golang/prometheus"

	lmetrics "github.com/lidorub/lidorub/metrics"
)

// Graph call results (label "result" of lidorub_meta_graph_requests_total).
const (
	ResultOK           = "ok"
	ResultRateLimited  = "rate_limited"
	ResultTokenInvalid = "token_invalid"
	ResultPermanent    = "permanent"
	ResultTemporary    = "temporary"
)

var webhookResults = []string{"ok", "verify_ok", "verify_failed", "bad_signature", "too_large", "read_error", "bad_payload", "ingest_error", "unknown_account"}
var graphResults = []string{ResultOK, ResultRateLimited, ResultTokenInvalid, ResultPermanent, ResultTemporary}

// Metrics are shared by both Meta channels (label "channel" tells them apart). Registering
// twice on one registerer reuses the collectors already there.
type Metrics struct {
	Webhook *prometheus.CounterVec // lidorub_meta_webhook_requests_total{channel,result}
	Items   *prometheus.CounterVec // lidorub_meta_webhook_items_total{channel,kind}
	Graph   *prometheus.CounterVec // lidorub_meta_graph_requests_total{channel,account,result}
	Errors  *prometheus.CounterVec // lidorub_meta_webhook_errors_total{channel}
}

// NewMetrics registers (or reuses) the collectors on reg and initialises every series of
// channel and its accounts at zero. reg may be nil (metrics then go nowhere).
func NewMetrics(reg prometheus.Registerer, channel string, accounts []string) (*Metrics, error) {
	m := &Metrics{
		Webhook: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_meta_webhook_requests_total",
			Help: "Meta webhook requests (Instagram, WhatsApp Cloud) by result.",
		}, []string{"channel", "result"}),
		Items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_meta_webhook_items_total",
			Help: "Inbound items stored from Meta webhooks (duplicates included) by kind.",
		}, []string{"channel", "kind"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_meta_webhook_errors_total",
			Help: "Errors Meta reported in webhook deliveries for the whole app or account (WhatsApp value.errors), e.g. the app user could not be authenticated.",
		}, []string{"channel"}),
		Graph: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lidorub_meta_graph_requests_total",
			Help: "Graph API send requests by result; token_invalid means the account's access token is expired or revoked.",
		}, []string{"channel", "account", "result"}),
	}
	if reg != nil {
		var err error
		if m.Webhook, err = lmetrics.Register(reg, m.Webhook); err != nil {
			return nil, err
		}
		if m.Items, err = lmetrics.Register(reg, m.Items); err != nil {
			return nil, err
		}
		if m.Graph, err = lmetrics.Register(reg, m.Graph); err != nil {
			return nil, err
		}
		if m.Errors, err = lmetrics.Register(reg, m.Errors); err != nil {
			return nil, err
		}
	}
	for _, r := range webhookResults {
		m.Webhook.WithLabelValues(channel, r)
	}
	for _, k := range []string{"message", "edit", "reaction", "delete", "status"} {
		m.Items.WithLabelValues(channel, k)
	}
	m.Errors.WithLabelValues(channel)
	for _, a := range accounts {
		for _, r := range graphResults {
			m.Graph.WithLabelValues(channel, a, r)
		}
	}
	return m, nil
}
