package router_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// funnelScenario drives leads one at a time through the real router (tier 1) and writes the
// sales stages through lib.lua's timeline() (router.WriteTimeline), as the sales tier does.
type funnelScenario struct {
	e       *env
	n       int64
	contact int
}

func (s *funnelScenario) lead(ch string) int64 {
	s.e.t.Helper()
	s.contact++
	s.e.ingestMsg(channels.Inbound{Channel: ch, Account: "shop", MessageID: fmt.Sprintf("m%d", s.contact),
		ContactID: fmt.Sprintf("7900%04d", s.contact), Text: "hello"})
	s.n++
	return s.n
}

// accept: the manager offered the lead takes it after d.
func (s *funnelScenario) accept(id int64, d time.Duration) string {
	s.e.t.Helper()
	s.e.advance(d)
	m := s.e.conv(id).OfferTo
	if err := s.e.r.Accept(s.e.ctx, id, m); err != nil {
		s.e.t.Fatalf("accept %d by %q: %v", id, m, err)
	}
	return m
}

func (s *funnelScenario) reply(id int64, m string, d time.Duration) {
	s.e.t.Helper()
	s.e.advance(d)
	if _, err := s.e.r.Reply(s.e.ctx, id, m, "hello", nil); err != nil {
		s.e.t.Fatal(err)
	}
	s.e.settle()
}

func (s *funnelScenario) close(id int64, m string, d time.Duration) {
	s.e.t.Helper()
	s.e.advance(d)
	if err := s.e.r.Close(s.e.ctx, id, m); err != nil {
		s.e.t.Fatal(err)
	}
	s.e.settle()
}

func (s *funnelScenario) stage(id int64, stage, m string, kv ...string) {
	s.e.t.Helper()
	x := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		x[kv[i]] = kv[i+1]
	}
	if err := s.e.r.WriteTimeline(s.e.ctx, id, stage, m, x); err != nil {
		s.e.t.Fatal(err)
	}
}

// The kinds of lead of the scenario (speed-to-lead in brackets):
//
//	A answered (20 s), hot, handed off, accepted by S1, contacted, won
//	B answered (3 m), warm, rejected by S2 (not_our_region), accepted by S1, contacted, lost (too_expensive)
//	C answered (10 m), tourist, closed
//	D the first offer lapses, answered by the next (2 m), closed
//	E accepted by anna, never answered, closed after 20 m (censored at 20 m)
//	H accepted, no reply within first_response (1 h): released, answered by the next (1 h 1 m 10 s)
//	S answered (1 m), warm, accepted by S2, then nothing: stale
//	F never accepted, still open at the report's end (censored at 5 m)
func (s *funnelScenario) run(ch string, kind byte, amount, currency string, breach bool) {
	t := s.e.t
	t.Helper()
	id := s.lead(ch)
	switch kind {
	case 'A', 'B', 'S':
		wait := map[byte]time.Duration{'A': 10 * time.Second, 'B': 170 * time.Second, 'S': 50 * time.Second}[kind]
		m := s.accept(id, 10*time.Second)
		s.reply(id, m, wait)
		level := map[byte]string{'A': "hot", 'B': "warm", 'S': "warm"}[kind]
		s.stage(id, router.StageQualified, m, "level", level)
		s.stage(id, router.StageHandedOff, m)
		switch kind {
		case 'A':
			s.stage(id, router.StageSalesOffered, "S1", "seq", "1")
			s.stage(id, router.StageSalesAccepted, "S1")
			s.stage(id, router.StageContacted, "S1")
			s.stage(id, router.StageWon, "S1", "amount", amount, "currency", currency)
		case 'B':
			s.stage(id, router.StageSalesOffered, "S2")
			s.stage(id, router.StageSalesRejected, "S2", "reason", "not_our_region")
			s.stage(id, router.StageSalesOffered, "S1")
			s.stage(id, router.StageSalesAccepted, "S1")
			if breach {
				s.stage(id, router.StageContactBreach, "S1")
			}
			s.stage(id, router.StageContacted, "S1")
			s.stage(id, router.StageLost, "S1", "reason", "too_expensive")
		case 'S':
			s.stage(id, router.StageSalesOffered, "S2")
			s.stage(id, router.StageSalesAccepted, "S2")
			return // left open
		}
		s.close(id, m, time.Second)
	case 'C':
		m := s.accept(id, 10*time.Second)
		s.reply(id, m, 590*time.Second)
		s.stage(id, router.StageQualified, m, "level", "tourist")
		s.close(id, m, time.Second)
	case 'D':
		s.e.advance(30 * time.Second) // lapses: offered to the next
		m := s.accept(id, 10*time.Second)
		s.reply(id, m, 80*time.Second)
		s.close(id, m, time.Second)
	case 'E':
		for i := 0; s.e.conv(id).OfferTo != "anna"; i++ {
			if i > 5 {
				t.Fatal("never offered to anna")
			}
			if err := s.e.r.Pass(s.e.ctx, id, s.e.conv(id).OfferTo); err != nil {
				t.Fatal(err)
			}
			s.e.settle()
		}
		m := s.accept(id, 10*time.Second)
		s.close(id, m, 1190*time.Second)
	case 'H':
		s.accept(id, 10*time.Second)
		s.e.advance(time.Hour) // released: offered to another
		m := s.accept(id, 10*time.Second)
		s.reply(id, m, 50*time.Second)
		s.close(id, m, time.Second)
	case 'F':
	}
	s.e.advance(time.Minute)
}

// funnelEnv plays the scripted scenario: 44 leads on 3 channels (17 telegram, 14 instagram,
// 13 whatsappcloud), both tiers, 6 never answered and still open, 7 closed unanswered.
func funnelEnv(t *testing.T, funnel *router.FunnelLabels) *env {
	t.Helper()
	e := newEnv(t, opts{cfg: router.Config{FirstResponse: time.Hour}, funnel: funnel,
		managers: []router.Manager{{ID: "anna", Capacity: 10}, {ID: "boris", Capacity: 10}, {ID: "carl", Capacity: 10}}})
	e.online("anna", "boris", "carl")
	s := &funnelScenario{e: e}
	tg, ig, wa := channels.Telegram, channels.Instagram, channels.WhatsAppCloud
	s.run(tg, 'A', "50", "USD", false)
	for _, k := range "AAABBCCCDDEEHS" {
		s.run(tg, byte(k), "1000", "RUB", false)
	}
	s.run(ig, 'B', "", "", true)
	for _, k := range "AABBCCDDEEE" {
		s.run(ig, byte(k), "1000", "RUB", false)
	}
	for _, k := range "ABCCDDDEEHS" {
		s.run(wa, byte(k), "1000", "RUB", false)
	}
	e.advance(3 * time.Hour) // the S leads go stale
	for _, ch := range []string{tg, tg, ig, ig, wa, wa} {
		s.lead(ch) // F: never accepted
	}
	e.advance(5 * time.Minute)
	if s.n != 44 {
		t.Fatalf("%d leads", s.n)
	}
	return e
}

const funnelByChannelJSON = `[
{"group":"instagram","leads":14,"answered":9,"answered_in_sla":2,"speed_p50_s":180,"speed_p50_reached":true,"speed_p95_s":null,"speed_p95_reached":false,
 "answered_within_1m":2,"answered_within_5m":7,"answered_within_15m":9,"answered_within_1h":9,"qualified_hot":2,"qualified_warm":3,"qualified_tourist":2,
 "handed_off":5,"sales_offered":5,"sales_accepted":5,"rejected_by_reason":{"not_our_region":3},"returned":0,"contacted":5,"won":2,"won_amount":{"RUB":2000},
 "lost":3,"lost_by_reason":{"too_expensive":3},"sla_breaches":0,"contact_breaches":1,"closed_unanswered":3,"stale":0,
 "died":{"contacted/S1":3,"accepted/anna":3}},
{"group":"telegram","leads":17,"answered":13,"answered_in_sla":5,"speed_p50_s":180,"speed_p50_reached":true,"speed_p95_s":3670,"speed_p95_reached":true,
 "answered_within_1m":5,"answered_within_5m":9,"answered_within_15m":12,"answered_within_1h":12,"qualified_hot":4,"qualified_warm":3,"qualified_tourist":3,
 "handed_off":7,"sales_offered":7,"sales_accepted":7,"rejected_by_reason":{"not_our_region":2},"returned":0,"contacted":6,"won":4,"won_amount":{"RUB":3000,"USD":50},
 "lost":2,"lost_by_reason":{"too_expensive":2},"sla_breaches":1,"contact_breaches":0,"closed_unanswered":2,"stale":1,
 "died":{"contacted/S1":2,"accepted/anna":2,"sales_accepted/S2":1}},
{"group":"whatsappcloud","leads":13,"answered":9,"answered_in_sla":2,"speed_p50_s":600,"speed_p50_reached":true,"speed_p95_s":3670,"speed_p95_reached":true,
 "answered_within_1m":2,"answered_within_5m":6,"answered_within_15m":8,"answered_within_1h":8,"qualified_hot":1,"qualified_warm":2,"qualified_tourist":2,
 "handed_off":3,"sales_offered":3,"sales_accepted":3,"rejected_by_reason":{"not_our_region":1},"returned":0,"contacted":2,"won":1,"won_amount":{"RUB":1000},
 "lost":1,"lost_by_reason":{"too_expensive":1},"sla_breaches":1,"contact_breaches":0,"closed_unanswered":2,"stale":1,
 "died":{"contacted/S1":1,"accepted/anna":2,"sales_accepted/S2":1}},
{"group":"total","leads":44,"answered":31,"answered_in_sla":9,"speed_p50_s":180,"speed_p50_reached":true,"speed_p95_s":3670,"speed_p95_reached":true,
 "answered_within_1m":9,"answered_within_5m":22,"answered_within_15m":29,"answered_within_1h":29,"qualified_hot":7,"qualified_warm":8,"qualified_tourist":7,
 "handed_off":15,"sales_offered":15,"sales_accepted":15,"rejected_by_reason":{"not_our_region":6},"returned":0,"contacted":13,"won":7,"won_amount":{"RUB":6000,"USD":50},
 "lost":6,"lost_by_reason":{"too_expensive":6},"sla_breaches":2,"contact_breaches":1,"closed_unanswered":7,"stale":2,
 "died":{"contacted/S1":6,"accepted/anna":7,"sales_accepted/S2":2}}
]`

const funnelByChannelCSV = `group,leads,answered,answered_in_sla,speed_p50_s,speed_p95_s,answered_within_1m,answered_within_5m,answered_within_15m,answered_within_1h,qualified_hot,qualified_warm,qualified_tourist,handed_off,sales_offered,sales_accepted,returned,contacted,won,lost,sla_breaches,contact_breaches,closed_unanswered,stale,rejected:not_our_region,won_amount:RUB,won_amount:USD,lost:too_expensive,died:accepted/anna,died:contacted/S1,died:sales_accepted/S2
instagram,14,9,2,180,,2,7,9,9,2,3,2,5,5,5,0,5,2,3,0,1,3,0,3,2000,0,3,3,3,0
telegram,17,13,5,180,3670,5,9,12,12,4,3,3,7,7,7,0,6,4,2,1,0,2,1,2,3000,50,2,2,2,1
whatsappcloud,13,9,2,600,3670,2,6,8,8,1,2,2,3,3,3,0,2,1,1,1,0,2,1,1,1000,0,1,2,1,1
total,44,31,9,180,3670,9,22,29,29,7,8,7,15,15,15,0,13,7,6,2,1,7,2,6,6000,50,6,7,6,2
`

func TestFunnelReportOfAScriptedScenario(t *testing.T) {
	e := funnelEnv(t, nil)
	q := router.FunnelQuery{From: t0, To: e.clock.Now().Add(time.Hour), By: router.ByChannel, StaleAfter: 2 * time.Hour}
	f, err := e.r.Funnel(e.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(append(f.Groups, f.Total))
	var g, w any
	_ = json.Unmarshal(got, &g)
	if err := json.Unmarshal([]byte(funnelByChannelJSON), &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("funnel by channel (-want +got):\n%s", diff)
	}
	if f.SpeedTarget != 60 {
		t.Errorf("speed target %v", f.SpeedTarget)
	}
	var csv bytes.Buffer
	if err := f.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(funnelByChannelCSV, csv.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
	var table bytes.Buffer
	if err := f.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String()) // the README's sample table

	// by sales manager: the leads that never reached sales are "(none)"
	q.By = router.BySalesManager
	f, err = e.r.Funnel(e.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Group                      string
		Leads, Won, Lost, Rejected int
	}
	var rows []row
	for _, r := range f.Groups {
		rows = append(rows, row{r.Group, r.Leads, r.Won, r.Lost, r.Rejected["not_our_region"]})
	}
	// a rejection counts for the sales manager who made it (S2), not for S1 who took the lead
	want := []row{{router.NoGroup, 29, 0, 0, 0}, {"S1", 13, 7, 6, 0}, {"S2", 2, 0, 0, 6}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("by sales manager (-want +got):\n%s", diff)
	}

	// by lead-manager: every lead counted once; the never-accepted ones are "(none)"
	q.By = router.ByLeadManager
	f, err = e.r.Funnel(e.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, r := range f.Groups {
		sum += r.Leads
		if r.Group == router.NoGroup && r.Leads != 6 {
			t.Errorf("(none): %d leads, want 6", r.Leads)
		}
	}
	if sum != 44 || f.Total.Leads != 44 {
		t.Errorf("by lead-manager: %d leads in groups, total %d", sum, f.Total.Leads)
	}

	// a period before the scenario is empty; bad groupings are refused
	f, err = e.r.Funnel(e.ctx, router.FunnelQuery{From: t0.Add(-48 * time.Hour), To: t0, By: router.BySource})
	if err != nil || len(f.Groups) != 0 || f.Total.Leads != 0 || f.Total.SpeedP50 != nil {
		t.Errorf("empty period: %+v %v", f, err)
	}
	if _, err := e.r.Funnel(e.ctx, router.FunnelQuery{From: t0, To: t0.Add(time.Hour), By: "colour"}); err == nil {
		t.Error("by colour accepted")
	}
}
