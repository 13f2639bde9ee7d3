package webform

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// TestFormLeadThroughRouter posts a form, lets the router take it, and checks the
// conversation a lead-manager sees; a retried submission adds nothing; marking the lead
// contacted counts as the first human reply.
func TestFormLeadThroughRouter(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Account = "site"; c.PolicyVersion = "7" })
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, []string{"anna"})
	r, err := router.New(router.Config{}, []router.Manager{{ID: "anna", Capacity: 2}}, router.Templates{}, router.Deps{
		Redis: e.rdb, Keys: e.keys, Clock: e.clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m,
		Instance: "t", Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	// The form's ingester feeds the same stream the router reads.
	e.h.ing = store.NewIngest(e.rdb, e.keys, e.clk, m)
	if err := r.SetOnline(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"name": "Anna K", "phone": "8 916 555-01-23", "message": "call me", "consent": true, "utm_campaign": "spring"}
	first := decodeAccepted(t, e.postJSON(t, body, map[string]string{"Idempotency-Key": "k1"}))
	if err := r.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	retry := decodeAccepted(t, e.postJSON(t, body, map[string]string{"Idempotency-Key": "k1"}))
	if !retry.Duplicate || retry.LeadID != first.LeadID {
		t.Fatalf("retry %+v", retry)
	}
	if err := r.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := r.Conversation(ctx, 1)
	if err != nil {
		t.Fatalf("conversation 1: %v", err)
	}
	if c.Channel != "form" || c.Account != "site" || c.ContactID != "+79165550123" || c.Phone != "+79165550123" ||
		c.Name != "Anna K" || c.Source != "spring" || c.State != router.StateOffered || c.OfferTo != "anna" {
		t.Fatalf("conversation %+v", c)
	}
	// The consent record travels with the lead.
	if c.Meta["consent_at"] != t0.Format(time.RFC3339Nano) || c.Meta["policy_version"] != "7" || c.Meta["utm_campaign"] != "spring" {
		t.Fatalf("conversation meta %v", c.Meta)
	}
	if _, err := r.Conversation(ctx, 2); err == nil {
		t.Fatal("a retried submission created a second conversation")
	}
	if err := r.Accept(ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(40 * time.Second)
	if err := r.MarkContacted(ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := r.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ = r.Conversation(ctx, 1); !c.Replied {
		t.Fatalf("after contacted: %+v", c)
	}
}
