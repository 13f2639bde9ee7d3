package qualify_test

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// TestThroughTheInboundStream: what the router hands the Qualifier — an Inbound read back
// from the inbound stream — carries everything the conditions read: the channel, source,
// utm_* meta, phone, e-mail and the receive time the ingester stamped (from its clock).
func TestThroughTheInboundStream(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	// Sunday 29 November 2026, 18:30 UTC = 21:30 in Moscow.
	clk := clock.NewFake(time.Date(2026, 11, 29, 18, 30, 0, 0, time.UTC))
	ing := store.NewIngest(rdb, keys, clk, nil)
	q := newRules(t, qualify.Config{TimeZone: "Europe/Moscow", Rules: []qualify.Rule{
		{Name: "price", Words: []string{"сколько стоит"}, Priority: ptr(5), Tags: []string{"price"}},
		{Name: "night ads", Channels: []string{"form"}, Sources: []string{"black_*"},
			UTM: qualify.UTM{Source: []string{"yandex"}, Medium: []string{"cpc"}}, HasPhone: yes(), HasEmail: no(),
			Time: []qualify.Window{{From: "20:00", To: "09:00"}}, Priority: ptr(7), Tags: []string{"ads"}},
	}})
	in := channels.Inbound{Channel: "form", MessageID: "m1", ContactID: "c1", Text: "Сколько стоит доставка?",
		Phone: "+79161234567", Source: "black_friday", Meta: map[string]string{"utm_source": "yandex", "utm_medium": "cpc"}}
	if _, err := ing.Ingest(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	entries, err := rdb.XRange(t.Context(), keys.Inbound(), "-", "+").Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	back, err := store.DecodeInbound(entries[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Qualify(t.Context(), back)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"matched «Сколько стоит» in rule price → priority 5, tag price",
		"matched channel form, source «black_friday» (black_*), utm_source «yandex», utm_medium «cpc», time sun 21:30 (20:00–09:00), a phone, no e-mail in rule night ads → priority 7, tag ads",
	}
	if diff := cmp.Diff(want, res.Explanation.Lines()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if res.Verdict() != "priority 7, tags ads, price" || res.Explanation.DecidedBy != "night ads" {
		t.Errorf("%s, decided by %q", res.Verdict(), res.Explanation.DecidedBy)
	}
}
