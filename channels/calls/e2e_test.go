package calls

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	lmetrics "github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
)

// speedToLead is the number of speed-to-lead observations of the calls channel.
func speedToLead(t *testing.T, reg *prometheus.Registry) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lidorub_speed_to_lead_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" && l.GetValue() == Name {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// End to end through the router on real Redis with the fake clock: a missed call on Zadarma
// is a callback lead offered to anna at once with a raised priority; boris's callback that
// is busy is an attempt on the transcript and changes nothing; his callback that connects
// ends speed-to-lead at the moment it connected and takes the lead from anna's offer.
func TestEndToEndMissedCallCallback(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	r, err := router.New(router.Config{OfferTimeout: 2 * time.Minute, FirstResponse: 5 * time.Minute, MaxOffers: 3},
		[]router.Manager{{ID: "anna", Capacity: 3}, {ID: "boris", Capacity: 3}}, router.Templates{},
		router.Deps{Redis: e.Redis, Keys: e.Keys, Clock: e.Clock, Log: slog.New(slog.DiscardHandler),
			Metrics: lmetrics.New(reg, []string{"anna", "boris"}), Instance: "e2e",
			Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetOnline(ctx, "anna", true); err != nil {
		t.Fatal(err)
	}
	step := func(file string) {
		t.Helper()
		e.Clock.Advance(5 * time.Second)
		if w := e.postZadarma(t, fixture(t, file), zadarmaSecret); w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", file, w.Code, w.Body)
		}
		if err := r.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	step("zadarma_start.form")
	step("zadarma_end_missed.form")
	c, err := r.Conversation(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Channel != Name || c.Phone != customer || c.Priority != DefaultMissedBoost || c.State != router.StateOffered || c.OfferTo != "anna" {
		t.Fatalf("callback lead %+v, want offered to anna at once with priority %d", c, DefaultMissedBoost)
	}

	step("zadarma_out_end_busy.form") // boris calls back: busy
	if c, _ = r.Conversation(ctx, 1); c.Replied || !c.FirstReplyAt.IsZero() || c.OfferTo != "anna" {
		t.Fatalf("a busy callback counted as contact: %+v", c)
	}
	if n := speedToLead(t, reg); n != 0 {
		t.Fatalf("speed-to-lead observed %d times after an attempt", n)
	}

	step("zadarma_out_start.form")
	step("zadarma_out_end_answered.form") // connected, talked 17 s
	connected := e.Clock.Now().Add(-17 * time.Second)
	c, _ = r.Conversation(ctx, 1)
	if !c.Replied || !c.FirstReplyAt.Equal(connected) || c.State != router.StateAssigned || c.ManagerID != "boris" {
		t.Fatalf("after the connected callback: %+v, want assigned to boris, contacted at %s", c, connected)
	}
	if n := speedToLead(t, reg); n != 1 {
		t.Fatalf("speed-to-lead observed %d times, want 1", n)
	}
	tr, err := r.Transcript(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 3 || tr[0].Dir != "in" || tr[1].Dir != "out" || tr[2].Dir != "out" || tr[2].ManagerID != "boris" {
		t.Fatalf("transcript %+v, want the missed call, the attempt and the connected call", tr)
	}
	// a redelivered NOTIFY_OUT_END changes nothing
	step("zadarma_out_end_answered.form")
	if tr2, _ := r.Transcript(ctx, 1, 0); len(tr2) != 3 {
		t.Fatalf("a duplicate notification wrote %d transcript lines", len(tr2)-3)
	}
	// no first-reply timer: the lead is not taken back from boris
	e.Clock.Advance(time.Hour)
	if err := r.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ = r.Conversation(ctx, 1); c.State != router.StateAssigned || c.ManagerID != "boris" {
		t.Fatalf("an hour later: %+v", c)
	}
}
