package bitrix24_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/crm/bitrix24"
	"github.com/lidorub/lidorub/crm/crmtest"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

const (
	hookPath = "/rest/1/abc123secretcode/"
	appToken = "k2j3h4g5f6d7s8a9q0w1e2r3"
)

type call struct {
	Method string // REST method
	Body   string
}

// fakeBitrix speaks Bitrix24 REST through an incoming webhook (answers shaped as in
// apidocs.bitrix24.com: {"result":..,"time":{..}} and {"error","error_description"}).
type fakeBitrix struct {
	mu     sync.Mutex
	calls  []call
	nextID int
	deals  map[string]map[string]string
	origin map[string]string // "<entity>|<ORIGIN_ID>" -> id
	fail   map[string][]int  // method -> queue of errors: 1 QUERY_LIMIT_EXCEEDED, 2 expired_token
}

func newFake(t *testing.T) (*fakeBitrix, *httptest.Server) {
	f := &fakeBitrix{nextID: 100, deals: map[string]map[string]string{}, origin: map[string]string{}, fail: map[string][]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeBitrix) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, hookPath) || !strings.HasSuffix(r.URL.Path, ".json") {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"INVALID_CREDENTIALS","error_description":"Invalid request credentials"}`)
		return
	}
	method := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, hookPath), ".json")
	f.calls = append(f.calls, call{Method: method, Body: string(body)})
	if q := f.fail[method]; len(q) > 0 {
		f.fail[method] = q[1:]
		switch q[0] {
		case 1:
			w.WriteHeader(503)
			fmt.Fprint(w, `{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}`)
		case 2:
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"expired_token","error_description":"The access token provided has expired."}`)
		}
		return
	}
	var in struct {
		Fields map[string]any    `json:"fields"`
		Filter map[string]string `json:"filter"`
		ID     any               `json:"id"`
	}
	json.Unmarshal(body, &in)
	ok := func(result any) {
		json.NewEncoder(w).Encode(map[string]any{"result": result, "time": map[string]any{"start": 1.7e9, "finish": 1.7e9, "duration": 0.01}})
	}
	switch method {
	case "crm.contact.add", "crm.deal.add", "crm.lead.add":
		f.nextID++
		id := fmt.Sprint(f.nextID)
		entity := strings.Split(method, ".")[1]
		f.origin[entity+"|"+fmt.Sprint(in.Fields["ORIGIN_ID"])] = id
		if entity == "deal" {
			f.deals[id] = map[string]string{"ID": id, "STAGE_ID": "NEW", "STAGE_SEMANTIC_ID": "P", "OPPORTUNITY": "0.00", "CURRENCY_ID": "RUB"}
		}
		ok(f.nextID)
	case "crm.contact.list", "crm.deal.list", "crm.lead.list":
		entity := strings.Split(method, ".")[1]
		var rows []map[string]string
		if o := in.Filter["ORIGIN_ID"]; o != "" {
			if id, found := f.origin[entity+"|"+o]; found {
				rows = append(rows, map[string]string{"ID": id})
			}
		} else {
			for _, d := range f.deals {
				rows = append(rows, d)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"result": rows, "total": len(rows), "time": map[string]any{}})
	case "crm.deal.get":
		d, found := f.deals[fmt.Sprint(in.ID)]
		if !found {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"","error_description":"Not found"}`)
			return
		}
		ok(d)
	case "crm.deal.update":
		ok(true)
	case "crm.timeline.comment.add":
		ok(7)
	default:
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"ERROR_METHOD_NOT_FOUND","error_description":"Method not found!"}`)
	}
}

func (f *fakeBitrix) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Method)
	}
	return out
}

func (f *fakeBitrix) body(method string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Method == method {
			return c.Body
		}
	}
	return ""
}

func (f *fakeBitrix) setDeal(id string, fields map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fields["ID"] = id
	f.deals[id] = fields
}

type world struct {
	*crmtest.Env
	fake *fakeBitrix
	b    *bitrix24.Connector
	mux  *http.ServeMux
}

func newWorld(t *testing.T, edit func(*bitrix24.Config)) *world {
	e := crmtest.New(t)
	f, srv := newFake(t)
	cfg := bitrix24.Config{Enabled: true, WebhookURL: srv.URL + hookPath, ApplicationToken: appToken, CategoryID: 2, StageID: "C2:NEW"}
	cfg.Users = map[string]int64{"anna": 11}
	if edit != nil {
		edit(&cfg)
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	w := &world{Env: e, fake: f, mux: http.NewServeMux()}
	w.b = bitrix24.New(cfg, e.Deps(bitrix24.Name))
	w.b.Register(w.mux)
	return w
}

func (w *world) addLead(id int64) {
	w.Leads.Add(router.Conversation{ID: id, Channel: "telegram", Name: "Анна Смирнова", Phone: "+79035550101",
		Meta: map[string]string{"utm_medium": "cpc"}},
		router.Message{Dir: "in", Kind: "message", Text: "Сколько стоит?", At: crmtest.T0})
}

func (w *world) poll() {
	w.T.Helper()
	if _, err := w.b.Service().TimelineConsumer("").Poll(w.Ctx); err != nil {
		w.T.Fatal(err)
	}
}

func (w *world) pollInbound() int {
	w.T.Helper()
	n, err := w.b.Service().InboundConsumer("").Poll(w.Ctx)
	if err != nil {
		w.T.Fatal(err)
	}
	return n
}

func (w *world) event(name, id, token string) *httptest.ResponseRecorder {
	form := url.Values{"event": {name}, "data[FIELDS][ID]": {id}, "ts": {"1764064800"},
		"auth[domain]": {"example.bitrix24.ru"}, "auth[client_endpoint]": {"https://example.bitrix24.ru/rest/"},
		"auth[server_endpoint]": {"https://oauth.bitrix.info/rest/"}, "auth[member_id]": {"a223c6b3710f85df22e9377d6c4f7553"},
		"auth[application_token]": {token}}
	req := httptest.NewRequest("POST", "/webhooks/bitrix24", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, req)
	return rec
}

func TestHandoffCreatesContactDealAndComment(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(7)
	w.Timeline(7, router.StageHandedOff, "anna", map[string]string{"level": "warm"})
	w.poll()
	if got := strings.Join(w.fake.methods(), ","); got != "crm.contact.add,crm.deal.add,crm.timeline.comment.add" {
		t.Fatalf("calls %s", got)
	}
	wantContact := `{"fields":{"ASSIGNED_BY_ID":11,"NAME":"Анна Смирнова","ORIGINATOR_ID":"lidorub","ORIGIN_ID":"7",` +
		`"PHONE":[{"VALUE":"+79035550101","VALUE_TYPE":"WORK"}],"SOURCE_ID":"WEB"},"params":{"REGISTER_SONET_EVENT":"Y"}}`
	if b := w.fake.body("crm.contact.add"); b != wantContact {
		t.Fatalf("contact body %s\nwant %s", b, wantContact)
	}
	wantDeal := `{"fields":{"ASSIGNED_BY_ID":11,"CATEGORY_ID":2,"CONTACT_ID":101,"CURRENCY_ID":"RUB","OPPORTUNITY":0,` +
		`"ORIGINATOR_ID":"lidorub","ORIGIN_ID":"7","SOURCE_DESCRIPTION":"telegram","SOURCE_ID":"WEB","STAGE_ID":"C2:NEW",` +
		`"TITLE":"lidorub #7","UTM_MEDIUM":"cpc"},"params":{"REGISTER_SONET_EVENT":"Y"}}`
	if b := w.fake.body("crm.deal.add"); b != wantDeal {
		t.Fatalf("deal body %s\nwant %s", b, wantDeal)
	}
	wantComment := `{"fields":{"COMMENT":"2026-11-25 10:00 → Сколько стоит?","ENTITY_ID":102,"ENTITY_TYPE":"deal"}}`
	if b := w.fake.body("crm.timeline.comment.add"); b != wantComment {
		t.Fatalf("comment body %s\nwant %s", b, wantComment)
	}
	if id, _ := w.b.Service().RecordID(w.Ctx, 7); id != "102" {
		t.Fatalf("stored id %q", id)
	}
}

func TestSalesAcceptedUpdatesAssignedBy(t *testing.T) {
	w := newWorld(t, func(c *bitrix24.Config) { c.TranscriptLimit = -1 })
	w.addLead(15)
	w.Timeline(15, router.StageHandedOff, "carl", nil)
	w.Timeline(15, router.StageSalesAccepted, "anna", nil)
	w.poll()
	if got := strings.Join(w.fake.methods(), ","); got != "crm.contact.add,crm.deal.add,crm.deal.update" {
		t.Fatalf("calls %s", got)
	}
	if b := w.fake.body("crm.deal.update"); b != `{"fields":{"ASSIGNED_BY_ID":11},"id":102}` {
		t.Fatalf("update body %s", b)
	}
}

func TestLeadEntityBody(t *testing.T) {
	w := newWorld(t, func(c *bitrix24.Config) { c.Entity = "lead"; c.CategoryID = 0; c.StageID = ""; c.TranscriptLimit = -1 })
	w.addLead(8)
	w.Timeline(8, router.StageHandedOff, "zoe", nil)
	w.poll()
	want := `{"fields":{"CURRENCY_ID":"RUB","NAME":"Анна Смирнова","OPPORTUNITY":0,"ORIGINATOR_ID":"lidorub","ORIGIN_ID":"8",` +
		`"PHONE":[{"VALUE":"+79035550101","VALUE_TYPE":"WORK"}],"SOURCE_DESCRIPTION":"telegram","SOURCE_ID":"WEB",` +
		`"TITLE":"lidorub #8","UTM_MEDIUM":"cpc"},"params":{"REGISTER_SONET_EVENT":"Y"}}`
	if m := strings.Join(w.fake.methods(), ","); m != "crm.lead.add" {
		t.Fatalf("calls %s", m)
	}
	if b := w.fake.body("crm.lead.add"); b != want {
		t.Fatalf("lead body %s\nwant %s", b, want)
	}
}

func TestDealUpdateEventReadsDealAndRecordsWon(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(9)
	w.Timeline(9, router.StageHandedOff, "anna", nil)
	w.poll()
	w.fake.setDeal("102", map[string]string{"STAGE_ID": "C2:WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "15000.50", "CURRENCY_ID": "USD"})
	for i := 0; i < 2; i++ { // Bitrix24 may send the event twice: applied once
		if rec := w.event("ONCRMDEALUPDATE", "102", appToken); rec.Code != 200 {
			t.Fatalf("event answered %d %s", rec.Code, rec.Body)
		}
	}
	if rec := w.event("ONCRMDEALUPDATE", "555", appToken); rec.Code != 200 { // not ours: no API call
		t.Fatalf("event answered %d", rec.Code)
	}
	if n := w.pollInbound(); n != 3 {
		t.Fatalf("handled %d", n)
	}
	want := []crmtest.Outcome{{Conv: 9, Outcome: router.Outcome{Result: "won", Amount: 15000.5, Currency: "USD", Source: "bitrix24", External: "102"}}}
	if got := w.Leads.Outcomes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %+v", got)
	}
	if b := w.fake.body("crm.deal.get"); b != `{"id":102}` {
		t.Fatalf("deal.get body %s", b)
	}
	n := 0
	for _, m := range w.fake.methods() {
		if m == "crm.deal.get" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d deal reads, want 2 (one per event of our deal; the second applies nothing)", n)
	}
	// moved to lost afterwards: recorded once more, as lost
	w.fake.setDeal("102", map[string]string{"STAGE_ID": "C2:LOSE", "STAGE_SEMANTIC_ID": "F", "OPPORTUNITY": "0", "CURRENCY_ID": "RUB"})
	w.event("ONCRMDEALUPDATE", "102", appToken)
	w.pollInbound()
	if got := w.Leads.Outcomes(); len(got) != 2 || got[1].Result != "lost" || got[1].Source != "bitrix24" {
		t.Fatalf("outcomes %+v", got)
	}
}

func TestWrongApplicationTokenIs401AndChangesNothing(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(10)
	w.Timeline(10, router.StageHandedOff, "anna", nil)
	w.poll()
	w.fake.setDeal("102", map[string]string{"STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "100", "CURRENCY_ID": "RUB"})
	before := len(w.fake.methods())
	for _, tok := range []string{"", "wrong", appToken + "x", appToken[:len(appToken)-1]} {
		rec := w.event("ONCRMDEALUPDATE", "102", tok)
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), `"error":"invalid application_token"`) {
			t.Fatalf("token %q answered %d %s", tok, rec.Code, rec.Body)
		}
	}
	if n := w.pollInbound(); n != 0 {
		t.Fatalf("%d queued items", n)
	}
	if len(w.Leads.Outcomes()) != 0 || len(w.fake.methods()) != before {
		t.Fatal("a rejected event changed something")
	}
	if v := testutil.ToFloat64(w.b.Service().Metrics().Webhooks.WithLabelValues("bitrix24", "rejected")); v != 4 {
		t.Fatalf("rejected metric %v", v)
	}
}

func TestQueryLimitAndExpiredTokenRetried(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(11)
	w.fake.mu.Lock()
	w.fake.fail["crm.deal.add"] = []int{2}    // expired_token after the contact was made
	w.fake.fail["crm.deal.get"] = []int{1, 1} // QUERY_LIMIT_EXCEEDED twice
	w.fake.mu.Unlock()
	w.Timeline(11, router.StageHandedOff, "anna", nil)
	w.poll()
	if a := w.Alerts.List(); len(a) != 1 || a[0] != "bitrix24||unauthorized: check the token" {
		t.Fatalf("alerts %v", a)
	}
	w.poll() // paused: no call
	if got := strings.Join(w.fake.methods(), ","); got != "crm.contact.add,crm.deal.add" {
		t.Fatalf("calls while paused: %s", got)
	}
	w.Clock.Advance(30 * time.Second)
	w.poll()
	// the retry looks for the deal, then reuses the contact the first attempt made
	if got := strings.Join(w.fake.methods(), ","); got != "crm.contact.add,crm.deal.add,crm.deal.list,crm.contact.list,crm.deal.add,crm.timeline.comment.add" {
		t.Fatalf("calls %s", got)
	}
	if p, _ := store.PendingCount(w.Ctx, w.Redis, w.Keys.Core("timeline"), "crm-bitrix24"); p != 0 {
		t.Fatalf("%d pending", p)
	}

	if id, _ := w.b.Service().RecordID(w.Ctx, 11); id != "102" {
		t.Fatalf("stored id %q", id)
	}
	w.fake.setDeal("102", map[string]string{"STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "900", "CURRENCY_ID": "RUB"})
	w.event("ONCRMDEALUPDATE", "102", appToken)
	steps := []struct {
		advance  time.Duration
		outcomes int
	}{{0, 0}, {500 * time.Millisecond, 0}, {500 * time.Millisecond, 0}, {time.Second, 0}, {time.Second, 1}}
	for i, s := range steps {
		w.Clock.Advance(s.advance)
		w.pollInbound()
		if n := len(w.Leads.Outcomes()); n != s.outcomes {
			t.Fatalf("step %d: %d outcomes, want %d", i, n, s.outcomes)
		}
	}
	m := w.b.Service().Metrics()
	if testutil.ToFloat64(m.Failures.WithLabelValues("bitrix24", "throttled")) != 2 || testutil.ToFloat64(m.Failures.WithLabelValues("bitrix24", "unauthorized")) != 1 {
		t.Fatal("failures not counted")
	}
	if strings.Contains(w.Logs.String(), "abc123secretcode") {
		t.Fatal("the webhook code is logged")
	}
}

func TestReconciliationFindsDealWhoseEventWasLost(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(12)
	w.Timeline(12, router.StageHandedOff, "anna", nil)
	w.poll()
	w.fake.setDeal("102", map[string]string{"STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "4200", "CURRENCY_ID": "RUB"})
	w.fake.setDeal("900", map[string]string{"STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "OPPORTUNITY": "1", "CURRENCY_ID": "RUB"}) // not ours
	n, err := w.b.Service().Reconcile(w.Ctx)
	if err != nil || n != 1 {
		t.Fatalf("reconcile %d, %v", n, err)
	}
	want := []crmtest.Outcome{{Conv: 12, Outcome: router.Outcome{Result: "won", Amount: 4200, Currency: "RUB", Source: "bitrix24", External: "102"}}}
	if got := w.Leads.Outcomes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %+v", got)
	}
	body := w.fake.body("crm.deal.list")
	from := crmtest.T0.Add(-12 * time.Minute).Format(time.RFC3339)
	if !strings.Contains(body, `">DATE_MODIFY":"`+from+`"`) || !strings.Contains(body, `"ORIGINATOR_ID":"lidorub"`) {
		t.Fatalf("deal.list body %s (want >DATE_MODIFY %s)", body, from)
	}
	if n, _ := w.b.Service().Reconcile(w.Ctx); n != 0 {
		t.Fatal("second pass applied again")
	}
}

func TestParseEvent(t *testing.T) {
	for _, c := range []struct {
		body string
		want bitrix24.Event
	}{
		{"event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=42&auth%5Bapplication_token%5D=tok", bitrix24.Event{Name: "ONCRMDEALUPDATE", ID: "42", Token: "tok"}},
		{"event=oncrmdealupdate&data[FIELDS][ID]=007", bitrix24.Event{Name: "ONCRMDEALUPDATE", ID: "7"}},
		{"event=ONCRMDEALUPDATE&data[FIELDS][ID]=-1", bitrix24.Event{Name: "ONCRMDEALUPDATE"}},
		{"event=ONCRMDEALUPDATE&data[FIELDS][ID]=99999999999999999999", bitrix24.Event{Name: "ONCRMDEALUPDATE"}},
	} {
		form, _ := url.ParseQuery(c.body)
		if got := bitrix24.ParseEvent(form); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.body, got, c.want)
		}
	}
}

func FuzzBitrixWebhook(f *testing.F) {
	f.Add("event=ONCRMDEALUPDATE&data[FIELDS][ID]=42&auth[application_token]=x")
	f.Add("event=ONCRMLEADUPDATE&data%5BFIELDS%5D%5BID%5D=0")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		e := bitrix24.ParseEvent(form)
		if e.ID != "" && (strings.Trim(e.ID, "0123456789") != "" || e.ID[0] == '0') {
			t.Fatalf("id %q is not a positive number", e.ID)
		}
	})
}

func TestConfigValidateNamesPaths(t *testing.T) {
	for _, c := range []struct {
		edit func(*bitrix24.Config)
		want string
	}{
		{func(c *bitrix24.Config) {}, ""},
		{func(c *bitrix24.Config) { c.WebhookURL = "https://x.bitrix24.ru/" }, "webhook_url: must be"},
		{func(c *bitrix24.Config) { c.ApplicationToken = "" }, "application_token: is required"},
		{func(c *bitrix24.Config) { c.Entity = "company" }, "entity: must be deal or lead"},
		{func(c *bitrix24.Config) { c.Entity = "lead"; c.StageID = "NEW" }, "entity: is lead"},
		{func(c *bitrix24.Config) { c.StageID = "new stage" }, "stage_id: must be"},
		{func(c *bitrix24.Config) { c.RetryInterval = time.Millisecond }, "retry_interval: must be at least 1s"},
	} {
		cfg := bitrix24.Config{Enabled: true, WebhookURL: "https://x.bitrix24.ru/rest/1/code", ApplicationToken: appToken}
		c.edit(&cfg)
		cfg.Defaults()
		err := cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

var _ crm.Connector = (*bitrix24.Connector)(nil)
