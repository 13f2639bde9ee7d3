package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/crm/crmtest"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/webhooks"
)

const (
	samToken      = "sam-sales-token-9a7c3e"
	sueToken      = "sue-supervisor-token-2b8f"
	amoHookSecret = "amo-path-secret-0123456789"
	bxAppToken    = "bxapptokenk2j3h4g5f6"
)

// crmWorld is the whole gateway with both CRM connectors pointed at fakes, a sales manager
// and a Standard Webhooks endpoint whose receiver verifies every signature.
type crmWorld struct {
	*testGateway
	amo *crmtest.Amo
	bx  *crmtest.Bitrix

	mu     sync.Mutex
	events []webhooks.Payload // delivered to the generic endpoint, signature verified
}

func newCRMWorld(t *testing.T) *crmWorld {
	w := &crmWorld{amo: crmtest.NewAmo(t), bx: crmtest.NewBitrix(t)}
	rc := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		wh, err := standardwebhooks.NewWebhook(whSecret)
		if err != nil {
			t.Error(err)
			return
		}
		if err := wh.VerifyIgnoringTimestamp(b, r.Header); err != nil { // the gateway runs on a fake clock
			t.Errorf("signature: %v", err)
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		var p webhooks.Payload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("body: %v", err)
		}
		w.mu.Lock()
		w.events = append(w.events, p)
		w.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	_, prefix := redistest.New(t)
	doc := fmt.Sprintf(`
instance_id: crme2e
log:
  level: error
http:
  listen: "127.0.0.1:0"
redis:
  url: %s
  prefix: %s
managers:
  - id: anna
    token: %s
  - id: sam
    role: sales
    token: %s
  - id: sue
    role: supervisor
    token: %s
channels:
  form:
    rate_per_minute: -1
sales:
  handoff_levels: [hot]
webhooks:
  endpoints:
    - id: owner
      url: %s
      secret: %s
crm:
  amocrm:
    enabled: true
    base_url: %s
    token: amo-long-lived-token
    webhook_secret: %s
    users: {sam: 7001}
    loss_reasons: {"8317": price}
    tags: [lidorub]
    reconcile_interval: -1s
  bitrix24:
    enabled: true
    webhook_url: %s
    application_token: %s
    users: {sam: 55}
    reconcile_interval: -1s
`, redistest.URL(t), prefix, annaToken, samToken, sueToken, rc.URL, whSecret, w.amo.Srv.URL, amoHookSecret, w.bx.Hook, bxAppToken)
	cfg, err := config.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	w.testGateway = newTestGateway(t, cfg)
	if len(w.g.CRM) != 2 || w.g.Webhooks == nil {
		t.Fatalf("built %d CRM services, webhooks %v", len(w.g.CRM), w.g.Webhooks != nil)
	}
	w.online("anna", annaToken)
	w.online("sam", samToken)
	return w
}

// pump runs what the gateway's runners would: the router's timers, both connectors' timeline
// consumers and inbound queues, and the generic webhook deliveries.
func (w *crmWorld) pump() {
	w.t.Helper()
	w.settle()
	for _, s := range w.g.CRM {
		if _, err := s.TimelineConsumer("-e2e").Poll(w.ctx); err != nil {
			w.t.Fatalf("%s timeline: %v", s.Name(), err)
		}
		if _, err := s.InboundConsumer("-e2e").Poll(w.ctx); err != nil {
			w.t.Fatalf("%s inbound: %v", s.Name(), err)
		}
	}
	w.settle()
	if _, err := w.g.Webhooks.Poll(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.g.Webhooks.Deliver(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// handedOff brings a web-form lead through the first tier: anna accepts it, calls the customer
// back and qualifies it hot, which hands it to sales (offered to sam). It returns the lead id.
func (w *crmWorld) handedOff(n int) int64 {
	w.t.Helper()
	w.formLead(fmt.Sprintf(`{"name": "Ivan %d", "phone": "8 (916) 123-45-6%d", "email": "ivan%d@example.com",
		"message": "Call me back about the price", "consent": true, "utm_campaign": "winter"}`, n, n, n))
	w.settle()
	o := w.offers("anna", annaToken)
	if len(o.Offers) != 1 {
		w.t.Fatalf("anna's offers %+v", o)
	}
	id := o.Offers[0].ID
	p := "/api/v1/conversations/" + strconv.FormatInt(id, 10)
	w.clock.Advance(20 * time.Second)
	w.must(200, "POST", p+"/accept", annaToken, "", "", nil)
	w.clock.Advance(40 * time.Second)
	w.must(200, "POST", p+"/contacted", annaToken, "", "", nil)
	w.clock.Advance(time.Minute)
	w.must(200, "POST", p+"/qualify", annaToken, "application/json", `{"level": "hot"}`, nil)
	return id
}

func (w *crmWorld) salesAccept(id int64) {
	w.t.Helper()
	w.clock.Advance(time.Minute)
	w.must(200, "POST", "/api/v1/conversations/"+strconv.FormatInt(id, 10)+"/sales/accept", samToken, "", "", nil)
}

func (w *crmWorld) post(path string, form url.Values) int {
	w.t.Helper()
	res, err := w.srv.Client().Post(w.srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		w.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (w *crmWorld) amoStatus(lead string, status int, price string) {
	w.t.Helper()
	f := url.Values{"leads[status][0][id]": {lead}, "leads[status][0][status_id]": {strconv.Itoa(status)},
		"leads[status][0][pipeline_id]": {"1"}, "leads[status][0][old_status_id]": {"142000"},
		"leads[status][0][old_pipeline_id]": {"1"}, "account[id]": {"29085955"}, "account[subdomain]": {"shop"}}
	if price != "" {
		f.Set("leads[status][0][price]", price)
	}
	if c := w.post("/webhooks/amocrm/"+amoHookSecret, f); c != 200 {
		w.t.Fatalf("amoCRM webhook: %d", c)
	}
}

func (w *crmWorld) bitrixUpdate(deal string) {
	w.t.Helper()
	f := url.Values{"event": {"ONCRMDEALUPDATE"}, "event_handler_id": {"3"}, "data[FIELDS][ID]": {deal},
		"ts": {"1764064800"}, "auth[domain]": {"shop.bitrix24.ru"}, "auth[client_endpoint]": {"https://shop.bitrix24.ru/rest/"},
		"auth[member_id]": {"a1b2"}, "auth[application_token]": {bxAppToken}}
	if c := w.post("/webhooks/bitrix24", f); c != 200 {
		w.t.Fatalf("Bitrix24 webhook: %d", c)
	}
}

func (w *crmWorld) funnel() router.FunnelRow {
	w.t.Helper()
	var f router.Funnel
	w.must(200, "GET", "/api/v1/reports/funnel?from=2026-11-25&to=2026-11-26", sueToken, "", "", &f)
	return f.Total
}

func (w *crmWorld) timeline(id int64) []router.TimelineEntry {
	w.t.Helper()
	var tl struct{ Timeline []router.TimelineEntry }
	w.must(200, "GET", fmt.Sprintf("/api/v1/leads/%d/timeline", id), sueToken, "", "", &tl)
	return tl.Timeline
}

// stages is the timeline's stages from the first hand-off on: "crm:amocrm:31:created", "won:5000 RUB"...
func stages(tl []router.TimelineEntry) []string {
	var out []string
	for _, e := range tl {
		s := e.Stage
		switch e.Stage {
		case router.StageCRM:
			s += ":" + e.Extra["crm"] + ":" + e.Extra["id"] + ":" + e.Extra["status"]
		case router.StageWon:
			s += ":" + e.Extra["amount"] + " " + e.Extra["currency"] + " by " + e.Manager
		case router.StageLost:
			s += ":" + e.Extra["reason"] + " by " + e.Manager
		}
		out = append(out, s)
	}
	return out
}

func (w *crmWorld) wonEvents(id int64) []webhooks.Payload {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []webhooks.Payload
	for _, p := range w.events {
		if p.Data.ID == id && (p.Type == webhooks.LeadWon || p.Type == webhooks.LeadLost) {
			out = append(out, p)
		}
	}
	return out
}

// TestCRMOutcomesReachTheFunnel is issue 13's end-to-end run: web-form leads are qualified hot
// and handed off, both CRMs get the record (bodies asserted), the sales manager accepts (the
// CRMs' responsible user follows), and the CRMs' own webhooks bring the outcomes back: amoCRM
// status_lead 142 with a price → won with the amount, 143 → lost with the mapped loss reason,
// Bitrix24 ONCRMDEALUPDATE → crm.deal.get STAGE_SEMANTIC_ID S → won with OPPORTUNITY. The funnel
// report and the timelines show them; repeated webhooks change nothing; the generic Standard
// Webhooks endpoint receives lead.won with the same amount, its signature verified by the
// standard-webhooks library.
func TestCRMOutcomesReachTheFunnel(t *testing.T) {
	w := newCRMWorld(t)

	// Lead 1: handed off → both CRM records.
	l1 := w.handedOff(1)
	w.pump()
	complex := w.amo.Bodies("POST", "/api/v4/leads/complex")
	if len(complex) != 1 {
		t.Fatalf("amoCRM leads/complex calls: %v", w.amo.Requests())
	}
	want := fmt.Sprintf(`[{"name":"lidorub #%d","_embedded":{"tags":[{"name":"lidorub"}],"contacts":[{"name":"Ivan 1",`+
		`"custom_fields_values":[{"field_code":"PHONE","values":[{"value":"+79161234561","enum_code":"WORK"}]},`+
		`{"field_code":"EMAIL","values":[{"value":"ivan1@example.com","enum_code":"WORK"}]}]}]}}]`, l1)
	if complex[0] != want {
		t.Errorf("amoCRM complex lead body\n got %s\nwant %s", complex[0], want)
	}
	if r := w.amo.Requests()[0]; r.Auth != "Bearer amo-long-lived-token" {
		t.Errorf("amoCRM auth header %q", r.Auth)
	}
	contact := w.bx.Bodies("POST", "crm.contact.add")
	deal := w.bx.Bodies("POST", "crm.deal.add")
	if len(contact) != 1 || len(deal) != 1 {
		t.Fatalf("Bitrix24 calls: %v", w.bx.Requests())
	}
	wantContact := fmt.Sprintf(`{"fields":{"EMAIL":[{"VALUE":"ivan1@example.com","VALUE_TYPE":"WORK"}],"NAME":"Ivan 1","ORIGINATOR_ID":"lidorub",`+
		`"ORIGIN_ID":"%d","PHONE":[{"VALUE":"+79161234561","VALUE_TYPE":"WORK"}],"SOURCE_ID":"WEB"},"params":{"REGISTER_SONET_EVENT":"Y"}}`, l1)
	if contact[0] != wantContact {
		t.Errorf("Bitrix24 crm.contact.add body\n got %s\nwant %s", contact[0], wantContact)
	}
	wantDeal := fmt.Sprintf(`{"fields":{"CATEGORY_ID":0,"CONTACT_ID":101,"CURRENCY_ID":"RUB","OPPORTUNITY":0,"ORIGINATOR_ID":"lidorub",`+
		`"ORIGIN_ID":"%d","SOURCE_DESCRIPTION":"winter","SOURCE_ID":"WEB","TITLE":"lidorub #%d","UTM_CAMPAIGN":"winter"},"params":{"REGISTER_SONET_EVENT":"Y"}}`, l1, l1)
	if deal[0] != wantDeal {
		t.Errorf("Bitrix24 crm.deal.add body\n got %s\nwant %s", deal[0], wantDeal)
	}

	// The sales manager accepts: both CRMs make sam's CRM user responsible.
	w.salesAccept(l1)
	w.pump()
	if b := w.amo.Bodies("PATCH", "/api/v4/leads/31"); len(b) != 1 || b[0] != `{"responsible_user_id":7001}` {
		t.Errorf("amoCRM responsible user: %v", b)
	}
	if b := w.bx.Bodies("POST", "crm.deal.update"); len(b) != 1 || b[0] != `{"fields":{"ASSIGNED_BY_ID":55},"id":102}` {
		t.Errorf("Bitrix24 responsible user: %v", b)
	}

	// amoCRM: the deal is won for 5000.
	w.clock.Advance(30 * time.Minute)
	w.amoStatus("31", 142, "5000")
	w.pump()
	f := w.funnel()
	if f.HandedOff != 1 || f.SalesAccepted != 1 || f.Won != 1 || f.WonAmount["RUB"] != 5000 || f.Lost != 0 {
		t.Fatalf("funnel after amoCRM won: %+v", f)
	}
	st := strings.Join(stages(w.timeline(l1)), ",")
	for _, s := range []string{"qualified,handed_off", "crm:amocrm:31:created", "crm:bitrix24:102:created",
		"sales_accepted", "won:5000 RUB by amocrm"} {
		if !strings.Contains(st, s) {
			t.Errorf("lead %d's timeline lacks %s: %s", l1, s, st)
		}
	}
	// The same webhook again (amoCRM retries when it is not answered in time): nothing twice.
	w.amoStatus("31", 142, "5000")
	w.pump()
	if again := w.funnel(); again.Won != 1 || again.WonAmount["RUB"] != 5000 {
		t.Errorf("funnel after the repeated webhook: %+v", again)
	}
	if n := strings.Count(strings.Join(stages(w.timeline(l1)), ","), "won:"); n != 1 {
		t.Errorf("%d won stages after the repeated webhook", n)
	}
	ev := w.wonEvents(l1)
	if len(ev) != 1 || ev[0].Type != webhooks.LeadWon || ev[0].Data.Amount == nil || *ev[0].Data.Amount != 5000 ||
		ev[0].Data.Currency != "RUB" || ev[0].Data.SalesManagerID != "sam" || ev[0].Data.LeadManagerID != "anna" || ev[0].Data.Manager != "amocrm" {
		t.Errorf("lead.won on the generic webhook: %+v", ev)
	}

	// Lead 2: amoCRM says lost (status 143); its loss reason 8317 is read back and mapped.
	l2 := w.handedOff(2)
	w.pump()
	w.salesAccept(l2)
	w.pump()
	w.amo.SetLossReason(32, 8317)
	w.clock.Advance(30 * time.Minute)
	w.amoStatus("32", 143, "")
	w.pump()
	w.amoStatus("32", 143, "")
	w.pump()
	f = w.funnel()
	if f.HandedOff != 2 || f.Won != 1 || f.Lost != 1 || f.LostByReason["price"] != 1 || f.WonAmount["RUB"] != 5000 {
		t.Fatalf("funnel after amoCRM lost: %+v", f)
	}
	if st := strings.Join(stages(w.timeline(l2)), ","); !strings.Contains(st, "crm:amocrm:32:created") || !strings.Contains(st, "lost:price by amocrm") {
		t.Errorf("lead %d's timeline: %s", l2, st)
	}
	if ev := w.wonEvents(l2); len(ev) != 1 || ev[0].Type != webhooks.LeadLost || ev[0].Data.Reason != "price" {
		t.Errorf("lead.lost on the generic webhook: %+v", ev)
	}

	// Lead 3: Bitrix24's deal reaches a success stage with OPPORTUNITY 12500.50.
	l3 := w.handedOff(3)
	w.pump()
	w.salesAccept(l3)
	w.pump()
	bxDeal := "106" // contacts and deals 101..106, two per lead
	w.bx.SetDeal(bxDeal, map[string]any{"STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "12500.50"})
	w.clock.Advance(30 * time.Minute)
	w.bitrixUpdate(bxDeal)
	w.pump()
	w.bitrixUpdate(bxDeal)
	w.pump()
	f = w.funnel()
	if f.HandedOff != 3 || f.Won != 2 || f.WonAmount["RUB"] != 17500.50 || f.Lost != 1 {
		t.Fatalf("funnel after Bitrix24 won: %+v", f)
	}
	if st := strings.Join(stages(w.timeline(l3)), ","); !strings.Contains(st, "crm:bitrix24:106:created") || !strings.Contains(st, "won:12500.5 RUB by bitrix24") {
		t.Errorf("lead %d's timeline: %s", l3, st)
	}
	if n := len(w.bx.Bodies("POST", "crm.deal.get")); n != 2 {
		t.Errorf("%d crm.deal.get calls, want one per event", n)
	}
	if ev := w.wonEvents(l3); len(ev) != 1 || ev[0].Data.Amount == nil || *ev[0].Data.Amount != 12500.5 {
		t.Errorf("lead.won on the generic webhook: %+v", ev)
	}
}

// TestCRMOutcomeBeforeTheSalesManagerAccepted: the CRM says won while the lead still waits
// for a sales manager to accept it. A CRM's outcome is authoritative: the router records it,
// withdraws the open offer (the sales manager's load freed) and credits nobody's conversion;
// a later CRM status corrects it as usual.
func TestCRMOutcomeBeforeTheSalesManagerAccepted(t *testing.T) {
	w := newCRMWorld(t)
	l1 := w.handedOff(1)
	w.pump()
	if c := w.conversation(l1); c.SalesState != router.SalesOffered || c.SalesOfferTo != "sam" {
		t.Fatalf("not offered to sam: %+v", c)
	}
	w.clock.Advance(time.Minute)
	w.amoStatus("31", 142, "5000")
	w.pump()
	// The CRM's outcome is authoritative: recorded although nobody accepted yet, the open
	// offer withdrawn, and nobody's conversion credited.
	if f := w.funnel(); f.Won != 1 || f.WonAmount["RUB"] != 5000 || f.SalesOffered != 1 || f.SalesAccepted != 0 {
		t.Fatalf("funnel: %+v", f)
	}
	c := w.conversation(l1)
	if c.SalesState != router.SalesWon || c.SalesOfferTo != "" {
		t.Errorf("after the CRM's won: %+v", c)
	}
	if m, err := w.g.Router.Manager(w.ctx, "sam"); err != nil || m.Load != 0 {
		t.Errorf("sam's load after the withdrawn offer: %+v %v", m, err)
	}
	if st := strings.Join(stages(w.timeline(l1)), ","); !strings.Contains(st, "won") {
		t.Errorf("timeline %s, want the CRM's won", st)
	}
	in := w.g.Conn.Keys.Core("crm", "amocrm", "in")
	if p, err := w.g.Conn.Client.XPending(w.ctx, in, "crm").Result(); err != nil || p.Count != 0 {
		t.Errorf("inbound items left to retry: %+v %v", p, err)
	}
	if m := w.scrape(); m[`lidorub_crm_outcomes_total{crm="amocrm",result="won"}`] != 1 {
		t.Errorf("won outcome not counted")
	}
	// sam can no longer accept the withdrawn offer.
	w.clock.Advance(time.Minute)
	if code := w.call("POST", fmt.Sprintf("/api/v1/conversations/%d/sales/accept", l1), samToken, "", "", nil); code == 200 {
		t.Errorf("sam accepted a lead the CRM already decided")
	}
	// Bitrix24 then says lost without a reason: the outcome is corrected to lost with
	// crm.bitrix24.lost_reason (default other).
	w.bx.SetDeal("102", map[string]any{"STAGE_ID": "LOSE", "STAGE_SEMANTIC_ID": "F"})
	w.bitrixUpdate("102")
	w.pump()
	if f := w.funnel(); f.Won != 0 || f.Lost != 1 || f.LostByReason["other"] != 1 {
		t.Errorf("funnel after Bitrix24 lost: %+v", f)
	}
	if st := strings.Join(stages(w.timeline(l1)), ","); !strings.HasSuffix(st, "outcome_changed") {
		t.Errorf("timeline %s, want the outcome changed by the CRM last", st)
	}
}

// TestCorrectionsReachTheCRMs (issue 18): a supervisor corrects a pushed lead's name and phone
// at the customer's request: amoCRM's main contact of the lead is patched, Bitrix24's deal
// contact gets the value it holds changed in place (by its ID). A lead not pushed yet is
// corrected only in lidorub, and its later push carries the corrected data.
func TestCorrectionsReachTheCRMs(t *testing.T) {
	w := newCRMWorld(t)
	l1 := w.handedOff(1)
	w.pump()
	c1 := w.conversation(l1)
	w.must(200, "PATCH", "/api/v1/contacts/form/"+url.PathEscape(c1.ContactID)+"?account="+url.QueryEscape(c1.Account), sueToken,
		"application/json", `{"name": "Ivan Petrov", "phone": "+7 916 111-22-33"}`, nil)
	w.pump()
	if got := w.amo.Requests(); len(got) < 2 || got[len(got)-2].Method != "GET" || got[len(got)-2].Path != "/api/v4/leads/31" ||
		got[len(got)-2].Query != "with=contacts" {
		t.Errorf("amoCRM: the lead's contact not read: %v", got)
	}
	want := `{"name":"Ivan Petrov","custom_fields_values":[{"field_code":"PHONE","values":[{"value":"+79161112233","enum_code":"WORK"}]}]}`
	if b := w.amo.Bodies("PATCH", "/api/v4/contacts/1001"); len(b) != 1 || b[0] != want {
		t.Errorf("amoCRM contact patch %v\nwant %s", b, want)
	}
	if b := w.bx.Bodies("POST", "crm.contact.get"); len(b) != 1 || b[0] != `{"id":101}` {
		t.Errorf("Bitrix24 crm.contact.get %v", b)
	}
	want = `{"fields":{"NAME":"Ivan Petrov","PHONE":[{"ID":"11","VALUE":"+79161112233","VALUE_TYPE":"WORK"}]},"id":101}`
	if b := w.bx.Bodies("POST", "crm.contact.update"); len(b) != 1 || b[0] != want {
		t.Errorf("Bitrix24 crm.contact.update %v\nwant %s", b, want)
	}
	if m := w.scrape(); m[`lidorub_crm_corrections_total{crm="amocrm"}`] != 1 || m[`lidorub_crm_corrections_total{crm="bitrix24"}`] != 1 {
		t.Error("corrections not counted")
	}
	for _, r := range append(w.amo.Requests(), w.bx.Requests()...) {
		if strings.Contains(r.Body, "+79161234561") && r.Path != "/api/v4/leads/complex" && r.Path != "crm.contact.add" {
			t.Errorf("the old number was sent again: %s %s", r.Path, r.Body)
		}
	}

	// Lead 2 is corrected before its hand-off: nothing goes to the CRMs until the push,
	// which reads the corrected e-mail.
	w.formLead(`{"name": "Olga", "phone": "8 (916) 123-45-62", "email": "olga@exampel.com", "message": "Sofa?", "consent": true}`)
	w.settle()
	o := w.offers("anna", annaToken)
	if len(o.Offers) != 1 {
		t.Fatalf("anna's offers %+v", o)
	}
	l2 := o.Offers[0]
	p := fmt.Sprintf("/api/v1/conversations/%d", l2.ID)
	w.must(200, "POST", p+"/accept", annaToken, "", "", nil)
	w.must(200, "POST", p+"/contacted", annaToken, "", "", nil)
	before := len(w.amo.Requests()) + len(w.bx.Requests())
	w.must(200, "PATCH", "/api/v1/contacts/form/"+url.PathEscape(l2.ContactID)+"?account="+url.QueryEscape(l2.Account), annaToken,
		"application/json", `{"email": "olga@example.com"}`, nil)
	w.pump()
	if after := len(w.amo.Requests()) + len(w.bx.Requests()); after != before {
		t.Errorf("a correction of a lead not pushed called the CRMs: %v %v", w.amo.Requests()[before:], w.bx.Requests())
	}
	w.must(200, "POST", p+"/qualify", annaToken, "application/json", `{"level": "hot"}`, nil)
	w.pump()
	complex := w.amo.Bodies("POST", "/api/v4/leads/complex")
	if len(complex) != 2 || !strings.Contains(complex[1], `"olga@example.com"`) || strings.Contains(complex[1], "exampel") {
		t.Errorf("amoCRM push after the correction: %v", complex)
	}
	contacts := w.bx.Bodies("POST", "crm.contact.add")
	if len(contacts) != 2 || !strings.Contains(contacts[1], `"olga@example.com"`) || strings.Contains(contacts[1], "exampel") {
		t.Errorf("Bitrix24 push after the correction: %v", contacts)
	}
}

func (w *crmWorld) conversation(id int64) router.Conversation {
	w.t.Helper()
	c, err := w.g.Router.Conversation(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return *c
}
