package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/api"
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// t0 is a Wednesday 10:00 UTC. The managers have no shifts: always on shift.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Tokens of the configured managers. anna and boris are lead-managers, vera a supervisor.
const (
	annaTok  = "anna-token-7f3a9c1e5b"
	borisTok = "boris-token-2d8e4f6a0c"
	veraTok  = "vera-token-9b1c3e5d7f"
)

var allTokens = []string{annaTok, borisTok, veraTok, sashaTok, semaTok}

// Personal data of the test customer: it must never appear in an answer to someone who may
// not see the conversation.
const (
	custName    = "Zinaida Secretova"
	custText    = "please call me about order 424242"
	custContact = "tg-contact-31337"
)

type env struct {
	t      *testing.T
	ctx    context.Context
	clock  *clock.Fake
	r      *router.Router
	ingest *store.Ingest
	srv    *httptest.Server
	sender *recSender
	seq    int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil, nil)
}

// newEnvWith adds managers (sales managers) and a sales: section to the test team.
func newEnvWith(t *testing.T, extra []router.Manager, sales *router.SalesConfig) *env {
	t.Helper()
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	e := &env{t: t, ctx: context.Background(), clock: clock.NewFake(t0), sender: &recSender{}}
	ms := []router.Manager{
		{ID: "anna", Name: "Anna", Token: annaTok, Capacity: 3},
		{ID: "boris", Name: "Boris", Token: borisTok, Capacity: 3},
		{ID: "vera", Name: "Vera", Role: router.RoleSupervisor, Token: veraTok},
		{ID: "notoken", Name: "No API"}, // no token: can never be authenticated
	}
	ms = append(ms, extra...)
	log := testlog.Logger()
	m := metrics.New(prometheus.NewRegistry(), []string{"anna", "boris", "vera", "notoken"})
	r, err := router.New(router.Config{OfferTimeout: 30 * time.Second, FirstResponse: 2 * time.Minute, MaxOffers: 5},
		ms, router.Templates{}, router.Deps{Redis: rdb, Keys: keys, Clock: e.clock, Log: log, Metrics: m, Instance: "apitest",
			Sleep: func(context.Context, time.Duration) error { return nil }, Sales: sales})
	if err != nil {
		t.Fatal(err)
	}
	r.RegisterSender(channels.Telegram, e.sender)
	e.r = r
	e.ingest = store.NewIngest(rdb, keys, e.clock, m)
	mux := http.NewServeMux()
	api.New(r, log).WithReports(r, e.clock.Now).Register(mux)
	e.srv = httptest.NewServer(api.JSONErrors(mux))
	t.Cleanup(e.srv.Close)
	return e
}

// recSender is the telegram Sender: it records what the router sends.
type recSender struct {
	mu   sync.Mutex
	sent []channels.Outbound
}

func (s *recSender) Send(_ context.Context, out channels.Outbound) (channels.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, out)
	return channels.SendResult{ChannelMessageID: "tg-" + out.ID}, nil
}

func (s *recSender) all() []channels.Outbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// customer ingests one telegram message from contact and runs the pipeline.
func (e *env) customer(contact, name, text string) {
	e.t.Helper()
	e.seq++
	if _, err := e.ingest.Ingest(e.ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop",
		MessageID: "m" + strconv.Itoa(e.seq), ContactID: contact, DisplayName: name, Text: text}); err != nil {
		e.t.Fatal(err)
	}
	e.settle()
}

func (e *env) settle() {
	e.t.Helper()
	if err := e.r.Settle(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// resp is one API answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return strconv.Itoa(r.status) + " " + string(r.body) }

// errMsg returns the "error" field of a JSON error body.
func (r resp) errMsg(t *testing.T) string {
	t.Helper()
	var v struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil || v.Error == nil {
		t.Fatalf("not a JSON error body: %s", r)
	}
	return *v.Error
}

// do sends a request with the raw Authorization header auth ("" = none). Every answer must be
// JSON and must never contain a bearer token, whoever asks.
func (e *env) do(method, path, auth, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if !json.Valid(b) {
		e.t.Errorf("%s %s: body is not JSON: %q", method, path, b)
	}
	for _, tok := range allTokens {
		if bytes.Contains(b, []byte(tok)) {
			e.t.Errorf("%s %s: the answer contains a bearer token: %s", method, path, b)
		}
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// as sends a request with a bearer token.
func (e *env) as(tok, method, path, body string) resp {
	e.t.Helper()
	return e.do(method, path, "Bearer "+tok, body)
}

// ok sends a request and requires status want; it decodes the body into v (if not nil).
func (e *env) ok(tok, method, path, body string, want int, v any) {
	e.t.Helper()
	r := e.as(tok, method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: %s, want %d", method, path, r, want)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, r.body)
		}
	}
}

func (e *env) online(tok, id string) {
	e.t.Helper()
	var v router.ManagerView
	e.ok(tok, "PUT", "/api/v1/managers/"+id+"/status", `{"online": true}`, 200, &v)
	if v.ID != id || !v.Online {
		e.t.Fatalf("after going online: %+v", v)
	}
	e.settle()
}

type listing struct {
	Offers        []router.Conversation `json:"offers"`
	Conversations []router.Conversation `json:"conversations"`
}

func (e *env) list(tok, id string) listing {
	e.t.Helper()
	var l listing
	e.ok(tok, "GET", "/api/v1/managers/"+id+"/conversations", "", 200, &l)
	return l
}

type convBody struct {
	Conversation router.Conversation `json:"conversation"`
	Transcript   []router.Message    `json:"transcript"`
}

func (e *env) conv(tok string, id int64) convBody {
	e.t.Helper()
	var c convBody
	e.ok(tok, "GET", "/api/v1/conversations/"+itoa(id), "", 200, &c)
	return c
}

// action POSTs to /api/v1/conversations/{id}/{verb} and returns the conversation it answers.
func (e *env) action(tok string, id int64, verb, body string) router.Conversation {
	e.t.Helper()
	var c convBody
	e.ok(tok, "POST", "/api/v1/conversations/"+itoa(id)+"/"+verb, body, 200, &c)
	if c.Conversation.ID != id {
		e.t.Fatalf("%s: answered conversation %d, want %d", verb, c.Conversation.ID, id)
	}
	return c.Conversation
}

// offeredTo returns the id of the single offer the manager has.
func (e *env) offeredTo(tok, id string) int64 {
	e.t.Helper()
	l := e.list(tok, id)
	if len(l.Offers) != 1 {
		e.t.Fatalf("%s has %d offers, want 1: %+v", id, len(l.Offers), l)
	}
	return l.Offers[0].ID
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// noPersonalData fails if the answer shows anything of the test customer.
func noPersonalData(t *testing.T, what string, r resp) {
	t.Helper()
	for _, s := range []string{custName, custText, custContact, "424242", "Secretova"} {
		if bytes.Contains(r.body, []byte(s)) {
			t.Errorf("%s: the answer leaks %q: %s", what, s, r)
		}
	}
}

func TestUnauthenticatedIs401(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)
	id := e.offeredTo(annaTok, "anna")

	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("anna:"+annaTok))
	auths := []struct {
		name, header string
	}{
		{"no header", ""},
		{"wrong token", "Bearer not-the-right-token-at-all"},
		{"token of nobody, right length", "Bearer " + strings.Repeat("x", len(annaTok))},
		{"prefix of a token", "Bearer " + annaTok[:len(annaTok)-1]},
		{"token with a suffix", "Bearer " + annaTok + "x"},
		{"Basic scheme with a valid token as password", basic},
		{"valid token without a scheme", annaTok},
		{"scheme without a token", "Bearer"},
		{"scheme with blanks only", "Bearer    "},
		{"token of the other scheme position", "Token " + annaTok},
	}
	endpoints := []struct{ method, path, body string }{
		{"GET", "/api/v1/me", ""},
		{"PUT", "/api/v1/managers/anna/status", `{"online": false}`},
		{"GET", "/api/v1/managers/anna", ""},
		{"GET", "/api/v1/managers/anna/conversations", ""},
		{"GET", "/api/v1/conversations/" + itoa(id), ""},
		{"GET", "/api/v1/conversations/abc", ""}, // authentication comes before validation
		{"POST", "/api/v1/conversations/" + itoa(id) + "/accept", ""},
		{"POST", "/api/v1/conversations/" + itoa(id) + "/pass", ""},
		{"POST", "/api/v1/conversations/" + itoa(id) + "/messages", `{"text": "hi"}`},
		{"POST", "/api/v1/conversations/" + itoa(id) + "/contacted", ""},
		{"POST", "/api/v1/conversations/" + itoa(id) + "/qualify", `{"level": "hot"}`},
		{"POST", "/api/v1/conversations/" + itoa(id) + "/close", ""},
	}
	for _, a := range auths {
		for _, ep := range endpoints {
			t.Run(a.name+"/"+ep.method+" "+ep.path, func(t *testing.T) {
				r := e.do(ep.method, ep.path, a.header, ep.body)
				if r.status != http.StatusUnauthorized {
					t.Fatalf("%s, want 401", r)
				}
				if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="lidorub"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if msg := r.errMsg(t); msg != "missing or invalid bearer token" {
					t.Errorf("error %q", msg)
				}
				noPersonalData(t, "401", r)
			})
		}
	}
	// Nothing of the above changed anything: the offer is still anna's and she is online.
	if l := e.list(annaTok, "anna"); len(l.Offers) != 1 || l.Offers[0].State != router.StateOffered {
		t.Fatalf("state changed by unauthenticated requests: %+v", l)
	}
	var me router.ManagerView
	e.ok(annaTok, "GET", "/api/v1/me", "", 200, &me)
	if !me.Online {
		t.Fatal("an unauthenticated request took anna offline")
	}
}

func TestAuthSchemeIsCaseInsensitive(t *testing.T) {
	// RFC 9110 section 11.1: the authentication scheme is case-insensitive.
	e := newEnv(t)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		r := e.do("GET", "/api/v1/me", scheme+" "+annaTok, "")
		if r.status != 200 {
			t.Errorf("%q scheme: %s", scheme, r)
		}
	}
}

func TestMeAndRoles(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		tok, id, name string
	}{{annaTok, "anna", "Anna"}, {borisTok, "boris", "Boris"}, {veraTok, "vera", "Vera"}} {
		var v router.ManagerView
		e.ok(tc.tok, "GET", "/api/v1/me", "", 200, &v)
		if v.ID != tc.id || v.Name != tc.name || v.Online || v.Offers == nil || v.Conversations == nil {
			t.Errorf("me with %s's token: %+v", tc.id, v)
		}
		var v2 router.ManagerView
		e.ok(tc.tok, "GET", "/api/v1/managers/"+tc.id, "", 200, &v2)
		if v2.ID != tc.id {
			t.Errorf("GET /managers/%s: %+v", tc.id, v2)
		}
	}
}

func TestActingAsAnotherManagerIs403(t *testing.T) {
	e := newEnv(t)
	e.online(borisTok, "boris")
	for _, tc := range []struct {
		name, tok, method, path, body string
	}{
		{"anna sets boris offline", annaTok, "PUT", "/api/v1/managers/boris/status", `{"online": false}`},
		{"anna sets boris online", annaTok, "PUT", "/api/v1/managers/boris/status", `{"online": true}`},
		{"anna reads boris", annaTok, "GET", "/api/v1/managers/boris", ""},
		{"anna lists boris's conversations", annaTok, "GET", "/api/v1/managers/boris/conversations", ""},
		{"boris acts as an unknown manager", borisTok, "PUT", "/api/v1/managers/mallory/status", `{"online": true}`},
		{"the supervisor sets boris offline", veraTok, "PUT", "/api/v1/managers/boris/status", `{"online": false}`},
		{"malformed body is still 403 first", annaTok, "PUT", "/api/v1/managers/boris/status", `{`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.as(tc.tok, tc.method, tc.path, tc.body)
			if r.status != http.StatusForbidden {
				t.Fatalf("%s, want 403", r)
			}
			if msg := r.errMsg(t); msg != "you can only act as yourself" {
				t.Errorf("error %q", msg)
			}
		})
	}
	var v router.ManagerView
	e.ok(borisTok, "GET", "/api/v1/me", "", 200, &v)
	if !v.Online {
		t.Fatal("boris was taken offline by someone else")
	}
}

func TestConversationOfAnotherManagerDoesNotLeak(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)
	id := e.offeredTo(annaTok, "anna")

	// anna sees her offer with the customer's data.
	c := e.conv(annaTok, id)
	if c.Conversation.Name != custName || c.Conversation.State != router.StateOffered || len(c.Transcript) == 0 ||
		c.Transcript[0].Text != custText {
		t.Fatalf("anna's view: %+v", c)
	}
	// The supervisor sees everything.
	if c := e.conv(veraTok, id); c.Conversation.Name != custName || c.Transcript[0].Text != custText {
		t.Fatalf("supervisor's view: %+v", c)
	}

	// boris may not: the answer is the one for a conversation that does not exist.
	missing := e.as(borisTok, "GET", "/api/v1/conversations/999999", "")
	if missing.status != http.StatusNotFound || missing.errMsg(t) != "no such conversation" {
		t.Fatalf("non-existent conversation: %s", missing)
	}
	for _, path := range []string{"/api/v1/conversations/" + itoa(id), "/api/v1/conversations/" + itoa(id) + "?limit=1"} {
		r := e.as(borisTok, "GET", path, "")
		if r.status != missing.status || !bytes.Equal(r.body, missing.body) {
			t.Errorf("GET %s by boris: %s; want exactly %s", path, r, missing)
		}
		noPersonalData(t, "boris reads anna's offer", r)
	}
	// Nor can boris act on it; no answer carries the customer's data.
	for _, tc := range []struct {
		verb, body string
		status     int
	}{
		{"accept", "", http.StatusNotFound},
		{"pass", "", http.StatusNotFound},
		{"messages", `{"text": "hi"}`, http.StatusNotFound},
		{"contacted", "", http.StatusNotFound},
		{"qualify", `{"level": "hot"}`, http.StatusNotFound},
		{"close", "", http.StatusNotFound},
	} {
		r := e.as(borisTok, "POST", "/api/v1/conversations/"+itoa(id)+"/"+tc.verb, tc.body)
		if r.status != tc.status || !bytes.Equal(r.body, missing.body) {
			t.Errorf("boris %s on anna's offer: %s, want exactly %s", tc.verb, r, missing)
		}
		noPersonalData(t, "boris "+tc.verb, r)
		// The same verb on a conversation that does not exist is 404.
		r = e.as(borisTok, "POST", "/api/v1/conversations/999999/"+tc.verb, tc.body)
		if r.status != http.StatusNotFound || r.errMsg(t) != "no such conversation" {
			t.Errorf("boris %s on a missing conversation: %s", tc.verb, r)
		}
	}
	// The offer is untouched.
	if c := e.conv(annaTok, id); c.Conversation.State != router.StateOffered || c.Conversation.OfferTo != "anna" {
		t.Fatalf("boris changed anna's offer: %+v", c.Conversation)
	}
	if len(e.sender.all()) != 1 { // the auto-acknowledgement only
		t.Fatalf("sent %+v", e.sender.all())
	}

	// Once anna has accepted, boris still cannot read it.
	e.action(annaTok, id, "accept", "")
	if r := e.as(borisTok, "GET", "/api/v1/conversations/"+itoa(id), ""); !bytes.Equal(r.body, missing.body) || r.status != 404 {
		t.Errorf("boris reads anna's assigned conversation: %s", r)
	}
	// A manager without an API token is never matched by an empty one.
	if r := e.do("GET", "/api/v1/conversations/"+itoa(id), "Bearer ", ""); r.status != 401 {
		t.Errorf("empty token: %s", r)
	}
}

func TestLapsedOfferIsNoLongerVisibleNorAcceptable(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.online(borisTok, "boris")
	e.customer(custContact, custName, custText)
	toks := map[string]string{"anna": annaTok, "boris": borisTok}

	var first, second string
	for id := range toks {
		if len(e.list(toks[id], id).Offers) == 1 {
			first = id
		}
	}
	if first == "" {
		t.Fatal("nobody was offered the conversation")
	}
	second = map[string]string{"anna": "boris", "boris": "anna"}[first]
	id := e.offeredTo(toks[first], first)

	e.clock.Advance(30*time.Second + time.Millisecond) // past router.offer_timeout
	e.settle()
	if got := e.offeredTo(toks[second], second); got != id {
		t.Fatalf("re-offered %d to %s, want %d", got, second, id)
	}
	if l := e.list(toks[first], first); len(l.Offers) != 0 || len(l.Conversations) != 0 {
		t.Fatalf("%s still lists the lapsed offer: %+v", first, l)
	}

	r := e.as(toks[first], "POST", "/api/v1/conversations/"+itoa(id)+"/accept", "")
	if r.status != http.StatusNotFound {
		t.Fatalf("accepting a lapsed offer: %s, want 404", r)
	}
	if msg := r.errMsg(t); msg != "no such conversation" {
		t.Errorf("error %q", msg)
	}
	noPersonalData(t, "lapsed accept", r)
	r = e.as(toks[first], "GET", "/api/v1/conversations/"+itoa(id), "")
	if r.status != http.StatusNotFound {
		t.Errorf("reading a lapsed offer: %s, want 404", r)
	}
	noPersonalData(t, "lapsed read", r)

	c := e.action(toks[second], id, "accept", "")
	if c.State != router.StateAssigned || c.ManagerID != second {
		t.Fatalf("after %s accepted: %+v", second, c)
	}
	// Too late for the first one, still.
	if r := e.as(toks[first], "POST", "/api/v1/conversations/"+itoa(id)+"/accept", ""); r.status != http.StatusNotFound {
		t.Fatalf("accepting a taken conversation: %s, want 404", r)
	}
}

func TestHappyPaths(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)

	l := e.list(annaTok, "anna")
	if len(l.Offers) != 1 || len(l.Conversations) != 0 {
		t.Fatalf("listing: %+v", l)
	}
	o := l.Offers[0]
	id := o.ID
	if o.State != router.StateOffered || o.OfferTo != "anna" || o.Channel != channels.Telegram || o.OfferSeq != 1 ||
		o.Offers != 1 || o.OfferedAt.IsZero() || !o.FirstInboundAt.Equal(t0) {
		t.Fatalf("offer: %+v", o)
	}

	// accept (twice: the second is a no-op)
	c := e.action(annaTok, id, "accept", "")
	if c.State != router.StateAssigned || c.ManagerID != "anna" || c.OfferTo != "" || !c.AcceptedAt.Equal(t0) || c.Replied {
		t.Fatalf("after accept: %+v", c)
	}
	if c := e.action(annaTok, id, "accept", ""); c.State != router.StateAssigned || c.ManagerID != "anna" {
		t.Fatalf("after a second accept: %+v", c)
	}
	if l := e.list(annaTok, "anna"); len(l.Offers) != 0 || len(l.Conversations) != 1 || l.Conversations[0].ID != id {
		t.Fatalf("listing after accept: %+v", l)
	}
	var me router.ManagerView
	e.ok(annaTok, "GET", "/api/v1/me", "", 200, &me)
	if me.Load != 1 || me.Capacity != 3 || !me.OnShift || me.QueueLength != 0 {
		t.Fatalf("me after accept: %+v", me)
	}

	// reply
	e.clock.Advance(7 * time.Second)
	var queued struct{ ID, Status string }
	e.ok(annaTok, "POST", "/api/v1/conversations/"+itoa(id)+"/messages", `{"text": "  Hello, Zinaida!  "}`, 202, &queued)
	if queued.Status != "queued" || queued.ID == "" {
		t.Fatalf("reply answer %+v", queued)
	}
	e.settle()
	sent := e.sender.all()
	if len(sent) != 2 || sent[0].Kind != "auto_ack" {
		t.Fatalf("sent %+v", sent)
	}
	if s := sent[1]; s.ID != queued.ID || s.Kind != "reply" || s.Text != "Hello, Zinaida!" || s.ContactID != custContact ||
		s.ManagerID != "anna" || s.Channel != channels.Telegram || s.Account != "shop" {
		t.Fatalf("reply sent %+v", s)
	}
	cb := e.conv(annaTok, id)
	if !cb.Conversation.Replied || !cb.Conversation.FirstReplyAt.Equal(t0.Add(7*time.Second)) {
		t.Fatalf("after the reply: %+v", cb.Conversation)
	}
	var kinds []string
	for _, m := range cb.Transcript {
		kinds = append(kinds, m.Dir+":"+m.Kind)
	}
	if want := []string{"in:message", "out:auto_ack", "out:reply"}; !slices.Equal(kinds, want) {
		t.Fatalf("transcript %v, want %v", kinds, want)
	}
	if last := e.conv(annaTok, id); len(last.Transcript) != 3 {
		t.Fatalf("transcript length %d", len(last.Transcript))
	}
	var lim convBody
	e.ok(annaTok, "GET", "/api/v1/conversations/"+itoa(id)+"?limit=1", "", 200, &lim)
	if len(lim.Transcript) != 1 || lim.Transcript[0].Kind != "reply" {
		t.Fatalf("limit=1: %+v", lim.Transcript)
	}

	// contacted (after a reply it changes nothing but is accepted)
	if c := e.action(annaTok, id, "contacted", ""); c.State != router.StateAssigned || !c.Replied {
		t.Fatalf("after contacted: %+v", c)
	}
	// qualify hot: handed off
	if c := e.action(annaTok, id, "qualify", `{"level": "hot"}`); c.Qualification != router.QualHot || !c.HandedOff ||
		c.State != router.StateAssigned {
		t.Fatalf("after qualify: %+v", c)
	}
	// close
	e.clock.Advance(time.Minute)
	if c := e.action(annaTok, id, "close", ""); c.State != router.StateClosed || !c.ClosedAt.Equal(t0.Add(67*time.Second)) {
		t.Fatalf("after close: %+v", c)
	}
	// the closing manager can still read it; nothing more can be done with it
	if c := e.conv(annaTok, id); c.Conversation.State != router.StateClosed {
		t.Fatalf("closed conversation: %+v", c.Conversation)
	}
	for _, tc := range []struct {
		verb, body string
		status     int
	}{{"close", "", http.StatusConflict}, {"messages", `{"text": "one more"}`, http.StatusConflict}, {"accept", "", http.StatusNotFound}} {
		if r := e.as(annaTok, "POST", "/api/v1/conversations/"+itoa(id)+"/"+tc.verb, tc.body); r.status != tc.status {
			t.Errorf("%s on a closed conversation: %s, want %d", tc.verb, r, tc.status)
		}
	}
	e.ok(annaTok, "GET", "/api/v1/me", "", 200, &me)
	if me.Load != 0 || len(me.Conversations) != 0 {
		t.Fatalf("me after close: %+v", me)
	}

	// A tourist is closed with the polite-close template.
	e.customer("tg-tourist", "Just Looking", "how much is everything?")
	id2 := e.offeredTo(annaTok, "anna")
	if id2 == id {
		t.Fatal("same conversation id for a new contact")
	}
	e.action(annaTok, id2, "accept", "")
	if c := e.action(annaTok, id2, "qualify", `{"level": "tourist"}`); c.State != router.StateClosed || c.Qualification != router.QualTourist {
		t.Fatalf("after qualify tourist: %+v", c)
	}
	e.settle()
	sent = e.sender.all()
	if last := sent[len(sent)-1]; last.Kind != "close" || last.ContactID != "tg-tourist" || last.Text == "" {
		t.Fatalf("last send %+v, want the polite close", last)
	}
}

func TestPassGoesToTheNextManager(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)
	id := e.offeredTo(annaTok, "anna")
	e.online(borisTok, "boris")

	// The answer says it was passed, not to whom: anna has just lost access to it.
	r := e.as(annaTok, "POST", "/api/v1/conversations/"+itoa(id)+"/pass", "")
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"status":"passed"`)) || bytes.Contains(r.body, []byte("boris")) {
		t.Fatalf("pass answered %s", r)
	}
	c := e.conv(borisTok, id).Conversation
	if c.State != router.StateOffered || c.OfferTo != "boris" || c.Offers != 2 {
		t.Fatalf("after pass: %+v", c)
	}
	if l := e.list(annaTok, "anna"); len(l.Offers) != 0 {
		t.Fatalf("anna still has the offer: %+v", l)
	}
	if got := e.offeredTo(borisTok, "boris"); got != id {
		t.Fatalf("boris offered %d", got)
	}
	// Passing again is not anna's to do.
	if r := e.as(annaTok, "POST", "/api/v1/conversations/"+itoa(id)+"/pass", ""); r.status != http.StatusNotFound {
		t.Fatalf("second pass: %s", r)
	}
}

func TestContactedOnAFormLead(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	if _, err := e.ingest.Ingest(e.ctx, channels.Inbound{Channel: channels.Form, Account: "default", MessageID: "h:1",
		ContactID: "+79161234567", Phone: "+79161234567", DisplayName: custName, Text: custText}); err != nil {
		t.Fatal(err)
	}
	e.settle()
	id := e.offeredTo(annaTok, "anna")
	e.action(annaTok, id, "accept", "")
	// A form lead cannot be answered through a channel: the API says so (409) and why.
	r := e.as(annaTok, "POST", "/api/v1/conversations/"+itoa(id)+"/messages", `{"text": "hello"}`)
	if r.status != http.StatusConflict || !strings.Contains(r.errMsg(t), "mark the lead contacted") {
		t.Fatalf("reply on a form lead: %s", r)
	}
	e.clock.Advance(40 * time.Second)
	c := e.action(annaTok, id, "contacted", "")
	if !c.Replied || !c.FirstReplyAt.Equal(t0.Add(40*time.Second)) || c.State != router.StateAssigned {
		t.Fatalf("after contacted: %+v", c)
	}
	if len(e.sender.all()) != 0 {
		t.Fatalf("something was sent on a form lead: %+v", e.sender.all())
	}
}

// Replying to another manager's conversation gets the same answer whatever its channel: it
// does not tell boris that anna's lead came from the web form.
func TestReplyToAnotherManagersLeadDoesNotRevealItsChannel(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	if _, err := e.ingest.Ingest(e.ctx, channels.Inbound{Channel: channels.Form, Account: "default", MessageID: "h:1",
		ContactID: "+79161234567", Phone: "+79161234567", DisplayName: custName, Text: custText}); err != nil {
		t.Fatal(err)
	}
	e.settle()
	formID := e.offeredTo(annaTok, "anna")
	e.action(annaTok, formID, "accept", "")
	e.customer(custContact, custName, custText)
	l := e.list(annaTok, "anna")
	if len(l.Offers) != 1 {
		t.Fatalf("listing %+v", l)
	}
	tgID := l.Offers[0].ID
	e.action(annaTok, tgID, "accept", "")

	form := e.as(borisTok, "POST", "/api/v1/conversations/"+itoa(formID)+"/messages", `{"text": "hi"}`)
	tg := e.as(borisTok, "POST", "/api/v1/conversations/"+itoa(tgID)+"/messages", `{"text": "hi"}`)
	if form.status != tg.status || !bytes.Equal(form.body, tg.body) {
		t.Fatalf("boris replying to anna's form lead: %s; to her telegram conversation: %s", form, tg)
	}
	if form.status != http.StatusNotFound {
		t.Fatalf("got %s, want 404", form)
	}
	noPersonalData(t, "reply to another's form lead", form)
}

// An unknown key is the caller's text: the error names the accepted fields, never the key.
func TestUnknownFieldIsNotEchoed(t *testing.T) {
	e := newEnv(t)
	const key = "K3Y-FROM-THE-BODY"
	r := e.as(annaTok, "PUT", "/api/v1/managers/anna/status", `{"online": true, "`+key+`": 1}`)
	if r.status != http.StatusBadRequest || bytes.Contains(r.body, []byte(key)) {
		t.Fatalf("answered %s; want 400 without the key", r)
	}
}

// A known path asked with the wrong method is 405 with Allow (JSON body), not the 404 of an
// unknown path.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+annaTok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(res.Header.Get("Allow"), "GET") ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("DELETE /api/v1/me: %d, Allow %q, Content-Type %q", res.StatusCode, res.Header.Get("Allow"), res.Header.Get("Content-Type"))
	}
	if r := e.as(annaTok, "GET", "/nowhere", ""); r.status != http.StatusNotFound || r.errMsg(t) != "not found" {
		t.Fatalf("GET /nowhere: %s", r)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)
	id := e.offeredTo(annaTok, "anna")
	e.action(annaTok, id, "accept", "")
	conv := "/api/v1/conversations/" + itoa(id)
	const secret = "SECRET-BODY-TEXT-5550199"

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		errContains              string
	}{
		{"malformed JSON", "POST", conv + "/messages", `{"text": "` + secret, 400, "malformed JSON"},
		{"not JSON at all", "POST", conv + "/messages", secret, 400, "malformed JSON: syntax error at byte 1"},
		{"unknown field", "POST", conv + "/messages", `{"text": "hi", "txet": "` + secret + `"}`, 400, `unknown field (allowed: "text", "attachments")`},
		{"wrong type", "POST", conv + "/messages", `{"text": 42}`, 400, `field "text" has the wrong type`},
		{"trailing data", "POST", conv + "/messages", `{"text": "a"} {"text": "b"}`, 400, "trailing data"},
		{"empty body", "POST", conv + "/messages", "", 400, "request body is empty"},
		{"body over 64 KiB", "POST", conv + "/messages", `{"text": "` + strings.Repeat("a", 64<<10) + `"}`, 413, "request body too large"},
		{"empty reply", "POST", conv + "/messages", `{"text": "   "}`, 422, "the reply is empty"},
		{"reply over 4096 characters", "POST", conv + "/messages", `{"text": "` + strings.Repeat("б", 4097) + `"}`, 422, "longer than 4096 characters"},
		{"bad level", "POST", conv + "/qualify", `{"level": "lukewarm"}`, 422, "level must be hot, warm or tourist"},
		{"missing level", "POST", conv + "/qualify", `{}`, 422, "level must be"},
		{"qualify unknown field", "POST", conv + "/qualify", `{"level": "hot", "why": 1}`, 400, `unknown field (allowed: "level", "note")`},
		{"status without online", "PUT", "/api/v1/managers/anna/status", `{}`, 422, `"online" (true or false) is required`},
		{"status of the wrong type", "PUT", "/api/v1/managers/anna/status", `{"online": "yes"}`, 400, `field "online" has the wrong type`},
		{"status with an unknown field", "PUT", "/api/v1/managers/anna/status", `{"online": true, "away": true}`, 400, `unknown field (allowed: "online")`},
		{"conversation id abc", "GET", "/api/v1/conversations/abc", "", 400, "conversation id must be a positive number"},
		{"conversation id 0", "GET", "/api/v1/conversations/0", "", 400, "conversation id must be a positive number"},
		{"conversation id -1", "POST", "/api/v1/conversations/-1/accept", "", 400, "conversation id must be a positive number"},
		{"conversation id overflow", "POST", "/api/v1/conversations/99999999999999999999/close", "", 400, "conversation id must be a positive number"},
		{"conversation id abc on messages", "POST", "/api/v1/conversations/abc/messages", `{"text": "hi"}`, 400, "conversation id"},
		{"negative limit", "GET", conv + "?limit=-1", "", 400, "limit must be a non-negative number"},
		{"limit not a number", "GET", conv + "?limit=all", "", 400, "limit must be a non-negative number"},
		{"unknown API path", "GET", "/api/v1/nothing", "", 404, "no such API endpoint"},
		{"unknown API version", "GET", "/api/v2/me", "", 404, "no such API endpoint"},
		{"unknown verb", "POST", conv + "/delete", "", 404, "no such API endpoint"},
		{"wrong method on a known path", "PUT", conv, "", 405, "method not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.as(annaTok, tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("%.300s, want %d", r, tc.status)
			}
			if msg := r.errMsg(t); !strings.Contains(msg, tc.errContains) {
				t.Errorf("error %q, want it to contain %q", msg, tc.errContains)
			}
			if bytes.Contains(r.body, []byte(secret)) {
				t.Errorf("the error echoes the body: %s", r)
			}
			if len(r.body) > 512 {
				t.Errorf("error body of %d bytes", len(r.body))
			}
		})
	}
	// None of it reached the customer or changed the conversation.
	if n := len(e.sender.all()); n != 1 {
		t.Fatalf("%d sends, want only the auto-ack", n)
	}
	if c := e.conv(annaTok, id); c.Conversation.State != router.StateAssigned || c.Conversation.Replied || c.Conversation.Qualification != "" {
		t.Fatalf("conversation changed by bad requests: %+v", c.Conversation)
	}
}

func TestSupervisorCannotActOnOffers(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.online(veraTok, "vera") // a supervisor online is never offered anything
	e.customer(custContact, custName, custText)
	id := e.offeredTo(annaTok, "anna")
	if l := e.list(veraTok, "vera"); len(l.Offers) != 0 {
		t.Fatalf("supervisor offered: %+v", l)
	}
	if r := e.as(veraTok, "POST", "/api/v1/conversations/"+itoa(id)+"/accept", ""); r.status != http.StatusNotFound {
		t.Fatalf("supervisor accepts anna's offer: %s", r)
	}
}

func TestEraseIsForSupervisorsOnly(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)
	id := e.offeredTo(annaTok, "anna")
	e.action(annaTok, id, "accept", "")
	path := "/api/v1/conversations/" + itoa(id)

	for _, tok := range []string{annaTok, borisTok} {
		r := e.as(tok, "DELETE", path, "")
		if r.status != http.StatusForbidden || r.errMsg(t) != "not allowed: only a supervisor can erase a conversation" {
			t.Fatalf("a lead-manager erases: %s", r)
		}
		noPersonalData(t, "forbidden erase", r)
	}
	if r := e.do("DELETE", path, "", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("unauthenticated erase: %s", r)
	}
	if c := e.conv(annaTok, id); c.Conversation.Name != custName {
		t.Fatalf("conversation changed by refused erasures: %+v", c.Conversation)
	}
	if r := e.as(veraTok, "DELETE", "/api/v1/conversations/abc", ""); r.status != http.StatusBadRequest {
		t.Fatalf("erase abc: %s", r)
	}
	missing := e.as(veraTok, "DELETE", "/api/v1/conversations/999999", "")
	if missing.status != http.StatusNotFound || missing.errMsg(t) != "no such conversation" {
		t.Fatalf("erase of a missing conversation: %s", missing)
	}

	req, _ := http.NewRequest("DELETE", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+veraTok)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("erase: %d %q", res.StatusCode, b)
	}
	// Gone for everyone, the manager's load freed, nothing of the customer left to read.
	for _, tok := range []string{annaTok, veraTok} {
		r := e.as(tok, "GET", path, "")
		if r.status != http.StatusNotFound {
			t.Errorf("read after erase: %s", r)
		}
		noPersonalData(t, "read after erase", r)
	}
	var me router.ManagerView
	e.ok(annaTok, "GET", "/api/v1/me", "", 200, &me)
	if me.Load != 0 || len(me.Conversations) != 0 || len(me.Offers) != 0 {
		t.Fatalf("anna after the erasure: %+v", me)
	}
	if r := e.as(veraTok, "DELETE", path, ""); r.status != http.StatusNotFound {
		t.Fatalf("second erase: %s", r)
	}
	if r := e.as(annaTok, "POST", path+"/messages", `{"text": "hello?"}`); r.status != http.StatusNotFound {
		t.Fatalf("reply after erase: %s", r)
	}
}

// A returning customer's lead card lists the earlier leads of the same contact.
func TestConversationListsPreviousLeads(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)
	first := e.offeredTo(annaTok, "anna")
	e.action(annaTok, first, "accept", "")
	e.action(annaTok, first, "qualify", `{"level": "warm"}`)
	e.action(annaTok, first, "close", "")
	e.clock.Advance(time.Hour)
	e.customer(custContact, custName, "me again")
	second := e.offeredTo(annaTok, "anna")
	e.action(annaTok, second, "accept", "")

	var body struct {
		Conversation struct {
			Previous []map[string]any `json:"previous"`
		} `json:"conversation"`
	}
	e.ok(annaTok, "GET", "/api/v1/conversations/"+itoa(second), "", 200, &body)
	want := []map[string]any{{"id": float64(first), "channel": "telegram", "state": "closed", "qualification": "warm",
		"manager_id": "anna", "created_at": t0.Format(time.RFC3339), "closed_at": t0.Format(time.RFC3339)}}
	if diff := cmp.Diff(want, body.Conversation.Previous); diff != "" {
		t.Fatalf("previous (-want +got):\n%s", diff)
	}
}
