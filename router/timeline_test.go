package router_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// tl is a compact form of a timeline entry: stage, manager, seconds after t0, extra.
type tl struct {
	Stage, Manager string
	At             time.Duration
	Extra          map[string]string
}

func compact(es []router.TimelineEntry) []tl {
	var out []tl
	for _, e := range es {
		out = append(out, tl{e.Stage, e.Manager, e.At.Sub(t0), e.Extra})
	}
	return out
}

func TestTimelineOfATier1Lead(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna", "boris")
	e.inbound("c1", "hello")    // created, offered to anna
	e.advance(30 * time.Second) // anna lets it lapse: offered to boris
	e.advance(5 * time.Second)
	if err := e.r.Accept(e.ctx, 1, "boris"); err != nil {
		t.Fatal(err)
	}
	e.advance(15 * time.Second)
	if _, err := e.r.Reply(e.ctx, 1, "boris", "hi", nil); err != nil {
		t.Fatal(err)
	}
	e.settle() // delivered: replied
	if _, err := e.r.Reply(e.ctx, 1, "boris", "again", nil); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	if err := e.r.Close(e.ctx, 1, "boris"); err != nil {
		t.Fatal(err)
	}
	got, err := e.r.Timeline(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []tl{
		{router.StageCreated, "", 0, nil},
		{router.StageOffered, "anna", 0, nil},
		{router.StageOfferLapsed, "anna", 30 * time.Second, map[string]string{"reason": "timeout"}},
		{router.StageOffered, "boris", 30 * time.Second, nil},
		{router.StageAccepted, "boris", 35 * time.Second, nil},
		{router.StageReplied, "boris", 50 * time.Second, nil},
		{router.StageClosed, "boris", 110 * time.Second, nil},
	}
	if diff := cmp.Diff(want, compact(got)); diff != "" {
		t.Fatalf("timeline (-want +got):\n%s", diff)
	}
	if n := e.rdb.ZCard(e.ctx, "{"+e.keys.Prefix+"}:leads").Val(); n != 1 {
		t.Fatalf("leads = %d, want 1", n)
	}
	// every entry is on the stream too, ids only
	xs := e.rdb.XRange(e.ctx, "{"+e.keys.Prefix+"}:timeline", "-", "+").Val()
	if len(xs) != len(want) || xs[6].Values["s"] != "closed" || xs[6].Values["c"] != "1" || xs[6].Values["m"] != "boris" {
		t.Fatalf("stream = %v", xs)
	}
}

func TestTimelineStagesOfPassOfflineBreachAndUnansweredClose(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{FirstResponse: time.Minute, MaxOffers: 2}})
	e.online("anna", "boris")
	e.inbound("c1", "hello") // offered to anna
	if err := e.r.Pass(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.settle() // offered to boris
	if err := e.r.SetOnline(e.ctx, "boris", false); err != nil {
		t.Fatal(err)
	}
	e.settle() // back to anna (a new round)
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute) // no first reply: released, escalated (3 offers > 2)
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.advance(10 * time.Second)
	if err := e.r.Close(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	got, err := e.r.Timeline(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []tl{
		{router.StageCreated, "", 0, nil},
		{router.StageOffered, "anna", 0, nil},
		{router.StageOfferLapsed, "anna", 0, map[string]string{"reason": "passed"}},
		{router.StageOffered, "boris", 0, nil},
		{router.StageOfferLapsed, "boris", 0, map[string]string{"reason": "offline"}},
		{router.StageOffered, "anna", 0, nil},
		{router.StageAccepted, "anna", 0, nil},
		{router.StageReleased, "anna", time.Minute, map[string]string{"reason": "no_reply"}},
		{router.StageEscalated, "", time.Minute, nil},
		{router.StageOffered, "anna", time.Minute, nil},
		{router.StageAccepted, "anna", time.Minute, nil},
		{router.StageClosed, "anna", 70 * time.Second, map[string]string{"unanswered": "1"}},
	}
	if diff := cmp.Diff(want, compact(got)); diff != "" {
		t.Fatalf("timeline (-want +got):\n%s", diff)
	}
}

func TestErasureRemovesTheTimeline(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Capacity: 1, Role: router.RoleSupervisor}}})
	e.online("anna")
	e.inbound("c1", "hello")
	if _, err := e.r.Timeline(e.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Erase(e.ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Timeline(e.ctx, 1); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("timeline after erasure: %v, want ErrNotFound", err)
	}
	p := "{" + e.keys.Prefix + "}"
	if n := e.rdb.Exists(e.ctx, p+":conv:1:tl").Val(); n != 0 {
		t.Fatal("timeline list left")
	}
	if n := e.rdb.ZCard(e.ctx, p+":leads").Val(); n != 0 {
		t.Fatalf("leads = %d, want 0", n)
	}
	// the stream keeps ids and stages only
	for _, x := range e.rdb.XRange(e.ctx, p+":timeline", "-", "+").Val() {
		for k := range x.Values {
			if k != "c" && k != "s" && k != "m" && k != "x" && k != "at" {
				t.Fatalf("stream field %q", k)
			}
		}
	}
}

func TestRetirementRemovesTheTimeline(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{Retention: time.Hour}})
	e.online("anna")
	e.inbound("c1", "hello")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Close(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	p := "{" + e.keys.Prefix + "}"
	if ttl := e.rdb.PTTL(e.ctx, p+":conv:1:tl").Val(); ttl <= 0 {
		t.Fatalf("closed lead's timeline TTL = %v, want the retention backstop", ttl)
	}
	e.advance(time.Hour)
	if _, err := e.r.Timeline(e.ctx, 1); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("timeline after retirement: %v", err)
	}
	if n := e.rdb.ZCard(e.ctx, p+":leads").Val(); n != 0 {
		t.Fatalf("leads = %d, want 0", n)
	}
}

// A contact correction and a lead marked contacted leave names only on the timeline.
func TestTimelineOfACorrectionAndAContactedLead(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Capacity: 1, Role: router.RoleSupervisor}}})
	e.online("anna")
	e.inbound("c1", "hello")
	if err := e.r.Accept(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	e.advance(20 * time.Second)
	if err := e.r.MarkContacted(e.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	name, phone := "Ivan", "+79037654321"
	ref := router.ContactRef{Channel: channels.Telegram, Account: "shop", ContactID: "c1"}
	if _, err := e.r.CorrectContact(e.ctx, ref, "sue", router.ContactCorrection{Name: &name, Phone: &phone}); err != nil {
		t.Fatal(err)
	}
	got, err := e.r.Timeline(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []tl{
		{router.StageCreated, "", 0, nil},
		{router.StageOffered, "anna", 0, nil},
		{router.StageAccepted, "anna", 0, nil},
		{router.StageReplied, "anna", 20 * time.Second, map[string]string{"contacted": "1"}},
		{router.StageCorrected, "", 20 * time.Second, map[string]string{"fields": "name,phone"}},
	}
	if diff := cmp.Diff(want, compact(got)); diff != "" {
		t.Fatalf("timeline (-want +got):\n%s", diff)
	}
}

// Two instances consume the timeline stream in one group: every stage counts once.
func TestFunnelMetricsCountOnceAcrossInstances(t *testing.T) {
	labels := &router.FunnelLabels{LeadManagers: []string{"anna", "boris", "carl"}, Channels: []string{channels.Telegram}}
	a := newEnv(t, opts{funnel: labels, instance: "a"})
	b := newEnv(t, opts{funnel: labels, instance: "b", shareWith: a})
	a.online("anna", "boris")
	for i := 0; i < 6; i++ {
		a.seq++
		if _, err := a.ingest.Ingest(a.ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop",
			MessageID: "m" + itoa(i), ContactID: "c" + itoa(i), Text: "hello"}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			b.settle()
		}
		a.settle()
	}
	b.settle()
	created := testutil.ToFloat64(a.r.FunnelMetrics().Stages.WithLabelValues("created", channels.Telegram)) +
		testutil.ToFloat64(b.r.FunnelMetrics().Stages.WithLabelValues("created", channels.Telegram))
	offered := testutil.ToFloat64(a.r.FunnelMetrics().Stages.WithLabelValues("offered", channels.Telegram)) +
		testutil.ToFloat64(b.r.FunnelMetrics().Stages.WithLabelValues("offered", channels.Telegram))
	if created != 6 || offered != 4 { // capacity 2 each: 4 offered, 2 waiting
		t.Fatalf("created %v, offered %v; want 6, 4", created, offered)
	}
	if testutil.ToFloat64(b.r.FunnelMetrics().Stages.WithLabelValues("created", channels.Telegram)) == 0 {
		t.Fatal("instance b counted nothing: the test does not show sharing")
	}
}
