package router_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// seriesCount is the sample count of a histogram series (name, one label pair).
func seriesCount(t *testing.T, reg *prometheus.Registry, name, label, value string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

// The funnel metrics of the scripted scenario (funnelEnv), counted from the timeline stream.
func TestFunnelMetrics(t *testing.T) {
	tg, ig, wa := channels.Telegram, channels.Instagram, channels.WhatsAppCloud
	e := funnelEnv(t, &router.FunnelLabels{LeadManagers: []string{"anna", "boris", "carl"}, SalesManagers: []string{"S1", "S2"},
		Channels: []string{tg, ig, wa}, RejectReasons: []string{"not_our_region", "not_a_lead"},
		LossReasons: []string{"too_expensive"}, Currencies: []string{"RUB"}})
	f := e.r.FunnelMetrics()
	sum := func(c *prometheus.CounterVec, ids []string, ev string) float64 {
		s := 0.0
		for _, id := range ids {
			s += testutil.ToFloat64(c.WithLabelValues(id, ev))
		}
		return s
	}
	leads := []string{"anna", "boris", "carl"}
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"created telegram", testutil.ToFloat64(f.Stages.WithLabelValues("created", tg)), 17},
		{"created instagram", testutil.ToFloat64(f.Stages.WithLabelValues("created", ig)), 14},
		{"created whatsappcloud", testutil.ToFloat64(f.Stages.WithLabelValues("created", wa)), 13},
		{"won telegram", testutil.ToFloat64(f.Stages.WithLabelValues("won", tg)), 4},
		{"released telegram", testutil.ToFloat64(f.Stages.WithLabelValues("released", tg)), 1},
		{"closed unanswered telegram", testutil.ToFloat64(f.ClosedUnanswered.WithLabelValues(tg)), 2},
		{"closed unanswered instagram", testutil.ToFloat64(f.ClosedUnanswered.WithLabelValues(ig)), 3},
		{"closed unanswered whatsappcloud", testutil.ToFloat64(f.ClosedUnanswered.WithLabelValues(wa)), 2},
		{"lead-managers answered", sum(f.LeadManager, leads, "answered"), 31},
		{"lead-managers hot", sum(f.LeadManager, leads, "qualified_hot"), 7},
		{"lead-managers warm", sum(f.LeadManager, leads, "qualified_warm"), 8},
		{"lead-managers tourist", sum(f.LeadManager, leads, "qualified_tourist"), 7},
		{"lead-managers handed off", sum(f.LeadManager, leads, "handed_off"), 15},
		{"lead-managers rejected by sales", sum(f.LeadManager, leads, "rejected_by_sales"), 6},
		{"lead-managers won", sum(f.LeadManager, leads, "won"), 7},
		{"S1 offered", testutil.ToFloat64(f.SalesManager.WithLabelValues("S1", "offered")), 13},
		{"S2 offered", testutil.ToFloat64(f.SalesManager.WithLabelValues("S2", "offered")), 8},
		{"S1 accepted", testutil.ToFloat64(f.SalesManager.WithLabelValues("S1", "accepted")), 13},
		{"S2 accepted", testutil.ToFloat64(f.SalesManager.WithLabelValues("S2", "accepted")), 2},
		{"S2 rejected", testutil.ToFloat64(f.SalesManager.WithLabelValues("S2", "rejected")), 6},
		{"S2 rejected not_our_region", testutil.ToFloat64(f.SalesRejected.WithLabelValues("S2", "not_our_region")), 6},
		{"S1 contacted", testutil.ToFloat64(f.SalesManager.WithLabelValues("S1", "contacted")), 13},
		{"S1 won", testutil.ToFloat64(f.SalesManager.WithLabelValues("S1", "won")), 7},
		{"S1 lost", testutil.ToFloat64(f.SalesManager.WithLabelValues("S1", "lost")), 6},
		{"S1 lost too_expensive", testutil.ToFloat64(f.SalesLost.WithLabelValues("S1", "too_expensive")), 6},
		{"S1 won RUB", testutil.ToFloat64(f.WonAmount.WithLabelValues("S1", "RUB")), 6000},
		{"S1 won in a currency not configured", testutil.ToFloat64(f.WonAmount.WithLabelValues("S1", "other")), 50},
		{"first_response breaches", sum(f.Breaches, leads, "first_response"), 2},
		{"S1 first_contact breaches", testutil.ToFloat64(f.Breaches.WithLabelValues("S1", "first_contact")), 1},
		{"S1 accept times", float64(seriesCount(t, e.reg, "lidorub_sales_accept_seconds", "manager", "S1")), 13},
		{"S2 accept times", float64(seriesCount(t, e.reg, "lidorub_sales_accept_seconds", "manager", "S2")), 2},
		{"S1 first contact times", float64(seriesCount(t, e.reg, "lidorub_sales_first_contact_seconds", "manager", "S1")), 13},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// every stage entry was counted once: the group has nothing pending
	pend := e.rdb.XPending(e.ctx, "{"+e.keys.Prefix+"}:timeline", "metrics").Val()
	if pend.Count != 0 {
		t.Errorf("pending %d", pend.Count)
	}
	// managers only from config: 3 lead-managers x 7 events, 2 sales managers x 6 events
	if n := testutil.CollectAndCount(f.LeadManager); n != 3*7 {
		t.Errorf("lidorub_funnel_lead_manager_total series = %d", n)
	}
	if n := testutil.CollectAndCount(f.SalesManager); n != 2*6 {
		t.Errorf("lidorub_funnel_sales_manager_total series = %d", n)
	}
	if n := testutil.CollectAndCount(f.Stages); n != 4*23 {
		t.Errorf("lidorub_funnel_total series = %d, want %d (bounded labels, initialised)", n, 4*23)
	}
}
