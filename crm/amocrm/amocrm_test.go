package amocrm_test

import (
	"encoding/json"
	"errors"
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
	"github.com/lidorub/lidorub/crm/amocrm"
	"github.com/lidorub/lidorub/crm/crmtest"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

const (
	token  = "amo-long-lived-token-xyz"
	secret = "s3cret-path-token-0123"
)

type request struct {
	Method, Path, Auth, Body string
}

// fakeAmo speaks amoCRM API v4 (response shapes from developers.kommo.com / amocrm.ru docs).
type fakeAmo struct {
	mu     sync.Mutex
	reqs   []request
	nextID int64
	leads  map[int64]map[string]any // what GET /api/v4/leads answers
	// fail answers the next calls to a path ("POST /api/v4/leads/complex") with a status and
	// body; created: the lead is created although the answer fails (a lost answer).
	fail map[string][]failure
	// entered, when set, is told of a complex create, which then waits for gate
	entered chan struct{}
	gate    chan struct{}
}

type failure struct {
	status  int
	body    string
	header  map[string]string
	created bool
}

func newFake(t *testing.T) (*fakeAmo, *httptest.Server) {
	f := &fakeAmo{nextID: 9774766, leads: map[int64]map[string]any{}, fail: map[string][]failure{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAmo) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func (f *fakeAmo) count(method, path string) int {
	n := 0
	for _, r := range f.requests() {
		if r.Method == method && strings.SplitN(r.Path, "?", 2)[0] == path {
			n++
		}
	}
	return n
}

func (f *fakeAmo) failNext(key string, fl ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[key] = append(f.fail[key], fl...)
}

func (f *fakeAmo) setLead(id int64, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fields["id"] = id
	f.leads[id] = fields
}

func (f *fakeAmo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if f.gate != nil && r.URL.Path == "/api/v4/leads/complex" {
		f.entered <- struct{}{}
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, request{Method: r.Method, Path: r.URL.RequestURI(), Auth: r.Header.Get("Authorization"), Body: string(body)})
	if r.Header.Get("Authorization") != "Bearer "+token {
		problem(w, 401, "Unauthorized")
		return
	}
	key := r.Method + " " + r.URL.Path
	created := false
	if fl := f.fail[key]; len(fl) > 0 {
		f.fail[key] = fl[1:]
		if !fl[0].created {
			for k, v := range fl[0].header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(fl[0].status)
			io.WriteString(w, fl[0].body)
			return
		}
		created = true // the lead is made, the answer lost
	}
	switch {
	case key == "POST /api/v4/leads/complex":
		var in []map[string]any
		json.Unmarshal(body, &in)
		id := f.nextID
		f.nextID++
		f.leads[id] = map[string]any{"id": id, "name": in[0]["name"], "price": 0, "status_id": 55, "pipeline_id": 7}
		if created {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/hal+json")
		fmt.Fprintf(w, `[{"id":%d,"contact_id":12117258,"company_id":null,"request_id":["0"],"merged":false}]`, id)
	case key == "POST /api/v4/leads/unsorted/forms":
		id := f.nextID
		f.nextID++
		fmt.Fprintf(w, `{"_total_items":1,"_embedded":{"unsorted":[{"uid":"a3ef3b1d-3c1b-4d67-9a2f-3f4b1e6e0e51","account_id":28805383,"request_id":"0","_embedded":{"leads":[{"id":%d}],"contacts":[{"id":12117258}]}}]}}`, id)
	case strings.HasPrefix(key, "POST /api/v4/leads/") && strings.HasSuffix(key, "/notes"):
		fmt.Fprint(w, `{"_total_items":1,"_embedded":{"notes":[{"id":42,"entity_id":1,"request_id":"0"}]}}`)
	case key == "GET /api/v4/leads":
		q := r.URL.Query()
		var list []map[string]any
		for _, l := range f.leads {
			if s := q.Get("query"); s != "" && l["name"] != s {
				continue
			}
			list = append(list, l)
		}
		if len(list) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"_page": 1, "_links": map[string]any{"self": map[string]string{"href": "x"}},
			"_embedded": map[string]any{"leads": list}})
	case strings.HasPrefix(key, "PATCH /api/v4/leads/"):
		fmt.Fprintf(w, `{"id":%s,"updated_at":1764064800,"_links":{"self":{"href":"x"}}}`, strings.TrimPrefix(r.URL.Path, "/api/v4/leads/"))
	case strings.HasPrefix(key, "GET /api/v4/leads/"):
		var id int64
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/api/v4/leads/"), &id)
		l, ok := f.leads[id]
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		json.NewEncoder(w).Encode(l)
	default:
		problem(w, 404, "Not Found")
	}
}

func problem(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"title":%q,"type":"https://httpstatus.es/%d","status":%d,"detail":"%s"}`, title, status, status, title)
}

type world struct {
	*crmtest.Env
	fake *fakeAmo
	srv  *httptest.Server
	a    *amocrm.Connector
	mux  *http.ServeMux
	cfg  amocrm.Config
}

func newWorld(t *testing.T, edit func(*amocrm.Config)) *world {
	e := crmtest.New(t)
	f, srv := newFake(t)
	cfg := amocrm.Config{Enabled: true, BaseURL: srv.URL, Token: token, WebhookSecret: secret,
		PipelineID: 7, StatusID: 55, Tags: []string{"lidorub"},
		Fields: amocrm.Fields{Source: 101, Channel: 102, UTMSource: 201, UTMCampaign: 203}}
	cfg.Users = map[string]int64{"anna": 777}
	cfg.DefaultUser = 500
	if edit != nil {
		edit(&cfg)
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	w := &world{Env: e, fake: f, srv: srv, cfg: cfg, mux: http.NewServeMux()}
	w.a = amocrm.New(cfg, e.Deps(amocrm.Name))
	w.a.Register(w.mux)
	return w
}

func (w *world) addLead(id int64) {
	w.Leads.Add(router.Conversation{ID: id, Channel: "form", Name: "Иван Петров", Phone: "+79161234567", Email: "ivan@example.ru",
		Source: "landing", Meta: map[string]string{"utm_source": "yandex", "utm_campaign": "winter"}, FirstInboundAt: crmtest.T0},
		router.Message{Dir: "in", Kind: "message", Text: "Нужна доставка", At: crmtest.T0},
		router.Message{Dir: "out", Kind: "auto_ack", Text: "auto", At: crmtest.T0},
		router.Message{Dir: "out", Kind: "reply", ManagerID: "anna", Text: "Добрый день!", At: crmtest.T0.Add(time.Minute)})
}

// poll runs the timeline consumer once; a new suffix-less consumer re-reads what is pending.
func (w *world) poll() int {
	w.T.Helper()
	n, err := w.a.Service().TimelineConsumer("").Poll(w.Ctx)
	if err != nil {
		w.T.Fatalf("poll: %v", err)
	}
	return n
}

func (w *world) pollInbound() int {
	w.T.Helper()
	n, err := w.a.Service().InboundConsumer("").Poll(w.Ctx)
	if err != nil {
		w.T.Fatalf("poll inbound: %v", err)
	}
	return n
}

func (w *world) pending() int64 {
	n, err := store.PendingCount(w.Ctx, w.Redis, w.Keys.Core("timeline"), "crm-amocrm")
	if err != nil {
		w.T.Fatal(err)
	}
	return n
}

func (w *world) webhook(path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, req)
	return rec
}

func statusForm(id int64, status, pipeline int64, price string) url.Values {
	return url.Values{
		"leads[status][0][id]":            {fmt.Sprint(id)},
		"leads[status][0][status_id]":     {fmt.Sprint(status)},
		"leads[status][0][old_status_id]": {"55"},
		"leads[status][0][pipeline_id]":   {fmt.Sprint(pipeline)},
		"leads[status][0][price]":         {price},
		"account[subdomain]":              {"example"},
		"account[id]":                     {"28805383"},
	}
}

func TestHandoffCreatesComplexLeadWithExactBodyAndNote(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(12)
	w.Timeline(12, router.StageCreated, "", nil) // not the trigger
	w.Timeline(12, router.StageHandedOff, "anna", map[string]string{"level": "hot"})
	if n := w.poll(); n != 2 {
		t.Fatalf("handled %d entries, want 2", n)
	}
	reqs := w.fake.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests %+v, want create and note", reqs)
	}
	want := `[{"name":"lidorub #12","pipeline_id":7,"status_id":55,"responsible_user_id":777,` +
		`"custom_fields_values":[{"field_id":101,"values":[{"value":"landing"}]},{"field_id":102,"values":[{"value":"form"}]},` +
		`{"field_id":201,"values":[{"value":"yandex"}]},{"field_id":203,"values":[{"value":"winter"}]}],` +
		`"_embedded":{"tags":[{"name":"lidorub"}],"contacts":[{"name":"Иван Петров","responsible_user_id":777,` +
		`"custom_fields_values":[{"field_code":"PHONE","values":[{"value":"+79161234567","enum_code":"WORK"}]},` +
		`{"field_code":"EMAIL","values":[{"value":"ivan@example.ru","enum_code":"WORK"}]}]}]}}]`
	if r := reqs[0]; r.Method != "POST" || r.Path != "/api/v4/leads/complex" || r.Auth != "Bearer "+token || r.Body != want {
		t.Fatalf("create request %+v\nwant body %s", r, want)
	}
	wantNote := `[{"note_type":"common","params":{"text":"2026-11-25 10:00 → Нужна доставка\n2026-11-25 10:01 ← anna: Добрый день!"}}]`
	if r := reqs[1]; r.Method != "POST" || r.Path != "/api/v4/leads/9774766/notes" || r.Body != wantNote {
		t.Fatalf("note request %+v\nwant body %s", r, wantNote)
	}
	if id, _ := w.a.Service().RecordID(w.Ctx, 12); id != "9774766" {
		t.Fatalf("stored id %q", id)
	}
	if got := w.Leads.CRM(); len(got) != 1 || got[0] != (crmtest.CRMEntry{Conv: 12, CRM: "amocrm", ID: "9774766", Status: "created"}) {
		t.Fatalf("timeline crm entries %+v", got)
	}
	if p := w.pending(); p != 0 {
		t.Fatalf("%d entries pending after success", p)
	}
	if v := testutil.ToFloat64(w.a.Service().Metrics().Pushes.WithLabelValues("amocrm")); v != 1 {
		t.Fatalf("pushes metric %v", v)
	}
	for _, leak := range []string{token, "+79161234567", "Иван", "ivan@"} {
		if strings.Contains(w.Logs.String(), leak) {
			t.Fatalf("log leaks %q: %s", leak, w.Logs.String())
		}
	}
}

func TestRetriedHandoffCreatesOneLead(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(5)
	// the CRM makes the lead but its answer is lost (502): the entry stays pending
	w.fake.failNext("POST /api/v4/leads/complex", failure{created: true})
	w.Timeline(5, router.StageHandedOff, "anna", nil)
	if n := w.poll(); n != 0 {
		t.Fatalf("handled %d, want 0 (answer lost)", n)
	}
	w.Timeline(5, router.StageHandedOff, "anna", nil) // handed off again (returned, re-qualified)
	w.poll()                                          // retry of the first + the second entry
	w.poll()
	if n := w.fake.count("POST", "/api/v4/leads/complex"); n != 1 {
		t.Fatalf("%d complex creates, want 1", n)
	}
	if n := w.fake.count("GET", "/api/v4/leads"); n != 1 {
		t.Fatalf("%d lookups of the lost lead, want 1", n)
	}
	if id, _ := w.a.Service().RecordID(w.Ctx, 5); id != "9774766" {
		t.Fatalf("stored id %q, want the lead made by the lost call", id)
	}
	if n := w.fake.count("POST", "/api/v4/leads/9774766/notes"); n != 1 {
		t.Fatalf("%d notes, want 1", n)
	}
	if p := w.pending(); p != 0 {
		t.Fatalf("%d pending", p)
	}
}

// Two instances handle handoff entries of the same lead at once: one creates the record, the
// other finds the attempt in flight and leaves its entry for later, then finds the id.
func TestConcurrentAttemptsCreateOneLead(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(6)
	w.fake.entered, w.fake.gate = make(chan struct{}), make(chan struct{})
	entry := store.Entry{ID: "1-1", Values: map[string]any{"c": "6", "s": router.StageHandedOff, "m": "anna", "x": "", "at": "1"}}
	first := make(chan error, 1)
	go func() { first <- w.a.Service().HandleTimeline(w.Ctx, entry) }()
	<-w.fake.entered
	if err := w.a.Service().HandleTimeline(w.Ctx, entry); !errors.Is(err, crm.ErrInFlight) {
		t.Fatalf("second attempt: %v, want ErrInFlight", err)
	}
	close(w.fake.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := w.a.Service().HandleTimeline(w.Ctx, entry); err != nil {
		t.Fatalf("retry of the second: %v", err)
	}
	if n := w.fake.count("POST", "/api/v4/leads/complex"); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
	if n := w.fake.count("POST", "/api/v4/leads/9774766/notes"); n != 1 {
		t.Fatalf("%d notes, want 1", n)
	}
}

func TestThrottledAndUnauthorizedAreRetriedNeverLost(t *testing.T) {
	w := newWorld(t, nil)
	w.addLead(8)
	w.fake.failNext("POST /api/v4/leads/complex",
		failure{status: 429, body: `{"title":"Too Many Requests","status":429}`, header: map[string]string{"Retry-After": "3"}},
		failure{status: 401, body: `{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":"Неверный логин или пароль"}`},
		failure{status: 401, body: `{"title":"Unauthorized","status":401}`})
	w.Timeline(8, router.StageHandedOff, "boris", nil)

	steps := []struct {
		advance  time.Duration
		creates  int
		alerts   int
		pending  int64
		throttle float64
		unauth   float64
	}{
		{0, 1, 0, 1, 1, 0},                // 429: paused 3 s (Retry-After)
		{time.Second, 1, 0, 1, 1, 0},      // still paused: no request
		{2 * time.Second, 2, 1, 1, 1, 1},  // 401: alert, paused retry_interval
		{10 * time.Second, 2, 1, 1, 1, 1}, // paused
		{20 * time.Second, 3, 1, 1, 1, 2}, // 401 again: no second alert
		{30 * time.Second, 4, 1, 0, 1, 2}, // accepted
	}
	m := w.a.Service().Metrics()
	for i, s := range steps {
		w.Clock.Advance(s.advance)
		w.poll()
		if n := w.fake.count("POST", "/api/v4/leads/complex"); n != s.creates {
			t.Fatalf("step %d: %d creates, want %d", i, n, s.creates)
		}
		if n := len(w.Alerts.List()); n != s.alerts {
			t.Fatalf("step %d: alerts %v, want %d", i, w.Alerts.List(), s.alerts)
		}
		if p := w.pending(); p != s.pending {
			t.Fatalf("step %d: %d pending, want %d", i, p, s.pending)
		}
		if v := testutil.ToFloat64(m.Failures.WithLabelValues("amocrm", "throttled")); v != s.throttle {
			t.Fatalf("step %d: throttled %v", i, v)
		}
		if v := testutil.ToFloat64(m.Failures.WithLabelValues("amocrm", "unauthorized")); v != s.unauth {
			t.Fatalf("step %d: unauthorized %v", i, v)
		}
	}
	if a := w.Alerts.List(); a[0] != "amocrm||unauthorized: check the token" {
		t.Fatalf("alert %q", a[0])
	}
	for _, r := range w.fake.requests() {
		if r.Auth != "Bearer "+token {
			t.Fatalf("request without the token: %+v", r)
		}
	}
	if strings.Contains(w.Logs.String(), token) {
		t.Fatal("token logged")
	}
}

func TestSalesAcceptedMakesTheSalesManagerResponsible(t *testing.T) {
	w := newWorld(t, func(c *amocrm.Config) { c.TranscriptLimit = -1 })
	w.addLead(14)
	w.Timeline(14, router.StageHandedOff, "carl", nil)      // a lead-manager not in users: default_user
	w.Timeline(14, router.StageSalesAccepted, "boris", nil) // not in users: nothing to update
	w.Timeline(14, router.StageSalesAccepted, "anna", nil)
	w.poll()
	reqs := w.fake.requests()
	if len(reqs) != 2 || !strings.Contains(reqs[0].Body, `"responsible_user_id":500`) {
		t.Fatalf("requests %+v", reqs)
	}
	if r := reqs[1]; r.Method != "PATCH" || r.Path != "/api/v4/leads/9774766" || r.Body != `{"responsible_user_id":777}` || r.Auth != "Bearer "+token {
		t.Fatalf("assign request %+v", r)
	}
	if p := w.pending(); p != 0 {
		t.Fatalf("%d pending", p)
	}
}

func TestErasedBeforePushSendsNothing(t *testing.T) {
	w := newWorld(t, nil)
	w.Timeline(99, router.StageHandedOff, "anna", nil)
	if n := w.poll(); n != 1 {
		t.Fatalf("handled %d, want 1 (dropped)", n)
	}
	if r := w.fake.requests(); len(r) != 0 {
		t.Fatalf("requests %+v", r)
	}
}

func TestTriggerCreated(t *testing.T) {
	w := newWorld(t, func(c *amocrm.Config) { c.Trigger = router.StageCreated; c.TranscriptLimit = -1 })
	w.addLead(3)
	w.Timeline(3, router.StageCreated, "", nil)
	w.Timeline(3, router.StageHandedOff, "anna", nil)
	w.poll()
	reqs := w.fake.requests()
	if len(reqs) != 1 || reqs[0].Path != "/api/v4/leads/complex" || !strings.Contains(reqs[0].Body, `"responsible_user_id":500`) {
		t.Fatalf("requests %+v, want one create with the default user and no note", reqs)
	}
}

func TestUnsortedFormBody(t *testing.T) {
	w := newWorld(t, func(c *amocrm.Config) { c.Unsorted = true; c.StatusID = 0; c.Fields = amocrm.Fields{}; c.Tags = nil })
	w.addLead(4)
	w.Timeline(4, router.StageHandedOff, "anna", nil)
	w.poll()
	r := w.fake.requests()[0]
	want := fmt.Sprintf(`[{"source_name":"lidorub","source_uid":"lidorub-4","pipeline_id":7,"created_at":%d,`+
		`"metadata":{"form_id":"lidorub","form_name":"lidorub #4","form_page":"form","form_sent_at":%d,"ip":"","referer":""},`+
		`"_embedded":{"leads":[{"name":"lidorub #4","responsible_user_id":777}],"contacts":[{"name":"Иван Петров","responsible_user_id":777,`+
		`"custom_fields_values":[{"field_code":"PHONE","values":[{"value":"+79161234567","enum_code":"WORK"}]},`+
		`{"field_code":"EMAIL","values":[{"value":"ivan@example.ru","enum_code":"WORK"}]}]}]}}]`, crmtest.T0.Unix(), crmtest.T0.Unix())
	if r.Path != "/api/v4/leads/unsorted/forms" || r.Body != want {
		t.Fatalf("unsorted request %s %s\nwant %s", r.Path, r.Body, want)
	}
	if id, _ := w.a.Service().RecordID(w.Ctx, 4); id != "9774766" {
		t.Fatalf("id %q", id)
	}
}

func pushed(t *testing.T, w *world, conv int64) string {
	t.Helper()
	w.addLead(conv)
	w.Timeline(conv, router.StageHandedOff, "anna", nil)
	w.poll()
	id, _ := w.a.Service().RecordID(w.Ctx, conv)
	if id == "" {
		t.Fatal("lead not pushed")
	}
	return id
}

func TestStatusLeadWebhookWonLostRoundTrip(t *testing.T) {
	w := newWorld(t, func(c *amocrm.Config) { c.LossReasons = map[string]string{"9001": "too_expensive"} })
	won := pushed(t, w, 21)
	lost := pushed(t, w, 22)
	var wonID, lostID int64
	fmt.Sscan(won, &wonID)
	fmt.Sscan(lost, &lostID)
	w.fake.setLead(lostID, map[string]any{"name": "lidorub #22", "price": 0, "status_id": 143, "pipeline_id": 7, "loss_reason_id": 9001,
		"_embedded": map[string]any{"loss_reason": []map[string]any{{"id": 9001, "name": "Дорого"}}}})

	path := "/webhooks/amocrm/" + secret
	for i := 0; i < 2; i++ { // amoCRM repeats a webhook: applied once
		if rec := w.webhook(path, statusForm(wonID, 142, 7, "15000")); rec.Code != 200 {
			t.Fatalf("webhook answered %d", rec.Code)
		}
		if rec := w.webhook(path, statusForm(lostID, 143, 7, "0")); rec.Code != 200 {
			t.Fatalf("webhook answered %d", rec.Code)
		}
	}
	if rec := w.webhook(path, statusForm(wonID, 56, 7, "15000")); rec.Code != 200 { // later moved on: recorded
		t.Fatalf("webhook answered %d", rec.Code)
	}
	if n := w.pollInbound(); n != 5 {
		t.Fatalf("inbound handled %d, want 5", n)
	}
	got := w.Leads.Outcomes()
	want := []crmtest.Outcome{
		{Conv: 21, Outcome: router.Outcome{Result: "won", Amount: 15000, Currency: "RUB", Source: "amocrm", External: won}},
		{Conv: 22, Outcome: router.Outcome{Result: "lost", Reason: "too_expensive", Source: "amocrm", External: lost}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes\n%+v\nwant\n%+v", got, want)
	}
	if n := w.fake.count("GET", "/api/v4/leads/"+lost); n != 1 {
		t.Fatalf("%d loss reason reads, want 1", n)
	}
	if r := w.fake.requests(); !strings.HasSuffix(r[len(r)-1].Path, "?with=loss_reason") {
		t.Fatalf("loss reason read %q", r[len(r)-1].Path)
	}
	crmEntries := w.Leads.CRM()
	if last := crmEntries[len(crmEntries)-1]; last != (crmtest.CRMEntry{Conv: 21, CRM: "amocrm", ID: won, Status: "56"}) {
		t.Fatalf("last crm entry %+v", last)
	}
	m := w.a.Service().Metrics()
	if testutil.ToFloat64(m.Outcomes.WithLabelValues("amocrm", "won")) != 1 || testutil.ToFloat64(m.Outcomes.WithLabelValues("amocrm", "lost")) != 1 ||
		testutil.ToFloat64(m.Webhooks.WithLabelValues("amocrm", "accepted")) != 5 {
		t.Fatal("metrics do not count the outcomes and webhooks")
	}
}

func TestWebhookWrongSecretChangesNothing(t *testing.T) {
	w := newWorld(t, nil)
	id := pushed(t, w, 30)
	var n int64
	fmt.Sscan(id, &n)
	for _, p := range []string{"/webhooks/amocrm/wrong-secret-0000000", "/webhooks/amocrm/" + secret[:len(secret)-1]} {
		rec := w.webhook(p, statusForm(n, 142, 7, "100"))
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Fatalf("%s answered %d %s", p, rec.Code, rec.Body)
		}
	}
	if got := w.pollInbound(); got != 0 {
		t.Fatalf("%d items queued by rejected webhooks", got)
	}
	if len(w.Leads.Outcomes()) != 0 {
		t.Fatal("outcome recorded from a rejected webhook")
	}
}

func TestReconciliationFindsOutcomeWhoseWebhookWasLost(t *testing.T) {
	w := newWorld(t, nil)
	id := pushed(t, w, 40)
	var n int64
	fmt.Sscan(id, &n)
	w.fake.setLead(n, map[string]any{"name": "lidorub #40", "price": 250000, "status_id": 142, "pipeline_id": 7})
	w.fake.setLead(777777, map[string]any{"name": "not ours", "price": 1, "status_id": 142, "pipeline_id": 7})
	w.Clock.Advance(10 * time.Minute)
	applied, err := w.a.Service().Reconcile(w.Ctx)
	if err != nil || applied != 1 {
		t.Fatalf("reconcile applied %d, %v; want 1", applied, err)
	}
	want := []crmtest.Outcome{{Conv: 40, Outcome: router.Outcome{Result: "won", Amount: 250000, Currency: "RUB", Source: "amocrm", External: id}}}
	if got := w.Leads.Outcomes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %+v", got)
	}
	reqs := w.fake.requests()
	q, _ := url.ParseQuery(strings.SplitN(reqs[len(reqs)-1].Path, "?", 2)[1])
	from := crmtest.T0.Add(10*time.Minute - 10*time.Minute - 2*time.Minute).Unix()
	if q.Get("filter[updated_at][from]") != fmt.Sprint(from) {
		t.Fatalf("reconcile query %v, want from %d", q, from)
	}
	// the webhook arrives late: nothing changes twice; a second pass applies nothing
	w.webhook("/webhooks/amocrm/"+secret, statusForm(n, 142, 7, "250000"))
	w.pollInbound()
	w.Clock.Advance(10 * time.Minute)
	if applied, err := w.a.Service().Reconcile(w.Ctx); err != nil || applied != 0 {
		t.Fatalf("second pass applied %d, %v", applied, err)
	}
	if len(w.Leads.Outcomes()) != 1 {
		t.Fatalf("outcome applied twice: %+v", w.Leads.Outcomes())
	}
	reqs = w.fake.requests()
	q, _ = url.ParseQuery(strings.SplitN(reqs[len(reqs)-1].Path, "?", 2)[1])
	if from := crmtest.T0.Add(10*time.Minute - 2*time.Minute).Unix(); q.Get("filter[updated_at][from]") != fmt.Sprint(from) {
		t.Fatalf("second pass query %v, want from the first pass's start minus the overlap (%d)", q, from)
	}
}

func TestParseWebhook(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want string
	}{
		{"status", "leads%5Bstatus%5D%5B0%5D%5Bid%5D=25399013&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=7&leads%5Bstatus%5D%5B0%5D%5Bprice%5D=1500&account%5Bsubdomain%5D=test",
			"[map[id:25399013 pipeline_id:7 price:1500 status:142]]"},
		{"two", "leads[status][0][id]=1&leads[status][0][status_id]=142&leads[status][1][id]=2&leads[status][1][status_id]=143",
			"[map[id:1 status:142] map[id:2 status:143]]"},
		{"add event", "leads[add][0][id]=1&leads[add][0][status_id]=5", "[]"},
		{"bad id", "leads[status][0][id]=1x&leads[status][0][status_id]=142", "[]"},
		{"bad price dropped", "leads[status][0][id]=1&leads[status][0][status_id]=142&leads[status][0][price]=abc", "[map[id:1 status:142]]"},
	} {
		form, _ := url.ParseQuery(c.body)
		if got := fmt.Sprint(amocrm.ParseWebhook(form)); got != c.want && !(c.want == "[]" && got == "[]") {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func FuzzAmoWebhook(f *testing.F) {
	f.Add("leads[status][0][id]=1&leads[status][0][status_id]=142&leads[status][0][price]=10")
	f.Add("leads%5Bstatus%5D%5B0%5D%5Bid%5D=2&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=143")
	f.Add("account[subdomain]=x&leads[update][0][id]=1")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		for _, it := range amocrm.ParseWebhook(form) {
			for _, k := range []string{"id", "status"} {
				v := it[k]
				if v == "" || strings.Trim(v, "0123456789") != "" {
					t.Fatalf("item %v: %s is not numeric", it, k)
				}
			}
		}
	})
}

func TestConfigValidateNamesPaths(t *testing.T) {
	base := func() amocrm.Config {
		c := amocrm.Config{Enabled: true, BaseURL: "https://example.amocrm.ru", Token: "t", WebhookSecret: secret}
		return c
	}
	for _, c := range []struct {
		edit func(*amocrm.Config)
		want string
	}{
		{func(c *amocrm.Config) {}, ""},
		{func(c *amocrm.Config) { c.BaseURL = "example.amocrm.ru" }, "base_url: must be"},
		{func(c *amocrm.Config) { c.Token = "" }, "token: is required"},
		{func(c *amocrm.Config) { c.WebhookSecret = "short" }, "webhook_secret: must be"},
		{func(c *amocrm.Config) { c.StatusID = 5 }, "status_id: must be 0 or"},
		{func(c *amocrm.Config) { c.Trigger = "won" }, "trigger: must be handed_off or created"},
		{func(c *amocrm.Config) { c.Users = map[string]int64{"anna": 0} }, "users.anna: must be a positive"},
		{func(c *amocrm.Config) { c.LossReasons = map[string]string{"x": "a"} }, "loss_reasons.x: the key"},
		{func(c *amocrm.Config) { c.Currency = "rub" }, "currency: must be"},
	} {
		cfg := base()
		c.edit(&cfg)
		cfg.Defaults()
		err := cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	off := amocrm.Config{}
	if off.Validate() != nil {
		t.Error("a disabled section is checked")
	}
}

var _ crm.Connector = (*amocrm.Connector)(nil)
