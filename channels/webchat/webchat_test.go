package webchat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
)

const (
	testSecret = "test-secret-0123456789abcdef0123456789"
	shop       = "https://shop.example"
)

// env is a chat on the test Redis served by httptest.
type env struct {
	*channeltest.Env
	ch  *Channel
	srv *httptest.Server
}

func testConfig() Config {
	return Config{Enabled: true, Secret: testSecret, AllowedOrigins: []string{shop}, IPRatePerMinute: -1,
		Heartbeat: 200 * time.Millisecond, PolicyURL: "https://shop.example/privacy"}
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := channeltest.NewEnv(t)
	return newEnvOn(t, e, mod)
}

func newEnvOn(t *testing.T, e *channeltest.Env, mod func(*Config)) *env {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	ch, err := New(cfg, e.Deps())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ch.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{Env: e, ch: ch, srv: srv}
}

type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
}

// do sends one request from the shop's page (Origin: shop unless origin says otherwise).
func (e *env) do(t *testing.T, method, path, token, origin, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{Status: res.StatusCode, Header: res.Header}
	_ = json.Unmarshal(b, &a.Body)
	return a
}

func (e *env) token(t *testing.T) string {
	t.Helper()
	a := e.do(t, "POST", "/webchat/v1/session", "", shop, "")
	tok, _ := a.Body["token"].(string)
	if a.Status != 200 || tok == "" {
		t.Fatalf("session: %d %v", a.Status, a.Body)
	}
	return tok
}

func (e *env) post(t *testing.T, tok, id, text string) answer {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"id": id, "text": text, "consent": true})
	return e.do(t, "POST", "/webchat/v1/messages", tok, shop, string(b))
}

func sidOf(tok string) string { return tok[:sidLen] }

func (e *env) reply(t *testing.T, tok, outID, text string) channels.SendResult {
	t.Helper()
	res, err := e.ch.Send(context.Background(), channels.Outbound{ID: outID, Channel: Name, Account: DefaultAccount,
		ContactID: sidOf(tok), Kind: "reply", ManagerID: "anna", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sse opens the event stream; the events arrive on the returned channel until cancel.
func (e *env) sse(t *testing.T, tok, lastEventID string) (<-chan Event, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/webchat/v1/events?token="+tok, nil)
	req.Header.Set("Origin", shop)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" ||
		res.Header.Get("Access-Control-Allow-Origin") != shop {
		t.Fatalf("events: %d %v", res.StatusCode, res.Header)
	}
	out := make(chan Event, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		id := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				var ev Event
				if err := json.Unmarshal([]byte(line[6:]), &ev); err != nil || ev.ID != id {
					t.Errorf("bad event %q (id %q): %v", line, id, err)
				}
				out <- ev
			}
		}
	}()
	return out, func() { cancel(); res.Body.Close(); <-done }
}

func next(t *testing.T, evs <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-evs:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return Event{}
}

func texts(evs []Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.Dir+":"+ev.Text)
	}
	return strings.Join(s, " ")
}

// contractUpstream is the widget posting a message (retried with the same client id).
type contractUpstream struct{ e *env }

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, ce *channeltest.Env, d channels.Deps) channeltest.Upstream {
		ch, err := New(testConfig(), d)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		ch.Register(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return contractUpstream{&env{Env: ce, ch: ch, srv: srv}}
	})
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool {
	tok, _ := u.e.ch.signer.sign("AAAAAAAAAAAAAAAAAAAAAA", u.e.Clock.Now())
	return u.e.post(t, tok, id, "Do you deliver to Kazan?").Status == http.StatusAccepted
}

func (u contractUpstream) DeliverForged(t *testing.T, id string) bool {
	forged := signer{secret: []byte("another-secret-0123456789abcdef0123"), account: DefaultAccount, ttl: time.Hour}
	tok, _ := forged.sign("AAAAAAAAAAAAAAAAAAAAAA", u.e.Clock.Now())
	return u.e.post(t, tok, id, "Do you deliver to Kazan?").Status == http.StatusAccepted
}

func TestTokens(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t)
	sid, exp, sig := func() (string, string, string) { p := strings.Split(tok, "."); return p[0], p[1], p[2] }()
	other := signer{secret: []byte("another-secret-0123456789abcdef0123"), account: DefaultAccount, ttl: time.Hour}
	otherTok, _ := other.sign(sid, e.Clock.Now())
	otherAcct := signer{secret: []byte(testSecret), account: "blog", ttl: time.Hour}
	acctTok, _ := otherAcct.sign(sid, e.Clock.Now())
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	for name, forged := range map[string]string{
		"another session id":       newSID() + "." + exp + "." + sig,
		"a later expiry":           sid + ".99999999999." + sig,
		"a changed signature":      sid + "." + exp + "." + flip(sig),
		"another secret":           otherTok,
		"another account's secret": acctTok,
		"no signature":             sid + "." + exp,
		"garbage":                  "not-a-token",
	} {
		t.Run(name, func(t *testing.T) {
			if a := e.post(t, forged, "m1", "hello"); a.Status != 401 || a.Body["code"] != "invalid_token" {
				t.Errorf("message with a forged token: %d %v", a.Status, a.Body)
			}
			if a := e.do(t, "GET", "/webchat/v1/poll?wait=0&token="+forged, "", shop, ""); a.Status != 401 {
				t.Errorf("poll with a forged token: %d", a.Status)
			}
			if a := e.do(t, "POST", "/webchat/v1/session", "", shop, fmt.Sprintf(`{"token":%q}`, forged)); a.Status != 401 {
				t.Errorf("renewal of a forged token: %d", a.Status)
			}
		})
	}
	if got := e.Stored(t); len(got) != 0 {
		t.Fatalf("forged tokens stored %d items", len(got))
	}
	if a := e.post(t, "", "m1", "hello"); a.Status != 401 {
		t.Errorf("no token: %d", a.Status)
	}

	// Renewal keeps the session and moves the expiry.
	e.Clock.Advance(24 * time.Hour)
	a := e.do(t, "POST", "/webchat/v1/session", "", shop, fmt.Sprintf(`{"token":%q}`, tok))
	renewed, _ := a.Body["token"].(string)
	if a.Status != 200 || sidOf(renewed) != sid || renewed == tok {
		t.Fatalf("renewal: %d %v", a.Status, a.Body)
	}
	// The old token expires at its own time, the renewed one a day later.
	e.Clock.Advance(DefaultTokenTTL - 24*time.Hour)
	if a := e.post(t, tok, "m1", "hello"); a.Status != 401 || a.Body["code"] != "expired_token" {
		t.Errorf("expired token: %d %v", a.Status, a.Body)
	}
	if a := e.post(t, renewed, "m1", "hello"); a.Status != 202 {
		t.Errorf("renewed token: %d %v", a.Status, a.Body)
	}
	e.Clock.Advance(24 * time.Hour)
	if a := e.post(t, renewed, "m2", "hello"); a.Status != 401 || a.Body["code"] != "expired_token" {
		t.Errorf("renewed token after its expiry: %d %v", a.Status, a.Body)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t)
	// An allowed origin gets the CORS headers, the preflight included.
	a := e.do(t, "OPTIONS", "/webchat/v1/messages", "", shop, "")
	if a.Status != 204 || a.Header.Get("Access-Control-Allow-Origin") != shop ||
		!strings.Contains(a.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", a.Status, a.Header)
	}
	if a := e.post(t, tok, "m1", "hi"); a.Status != 202 || a.Header.Get("Access-Control-Allow-Origin") != shop {
		t.Fatalf("post: %d %v", a.Status, a.Header)
	}
	// Any other origin is refused, with no CORS header, and nothing is stored.
	for _, path := range []string{"/webchat/v1/messages", "/webchat/v1/session"} {
		if a := e.do(t, "OPTIONS", path, "", "https://evil.example", ""); a.Status != 403 || a.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from another origin: %d %v", a.Status, a.Header)
		}
	}
	if a := e.do(t, "POST", "/webchat/v1/messages", tok, "https://evil.example", `{"id":"m2","text":"hi","consent":true}`); a.Status != 403 || a.Body["code"] != "origin" {
		t.Errorf("post from another origin: %d %v", a.Status, a.Body)
	}
	if a := e.do(t, "GET", "/webchat/v1/poll?wait=0&token="+tok, "", "https://shop.example.evil.com", ""); a.Status != 403 {
		t.Errorf("poll from another origin: %d", a.Status)
	}
	if got := e.Stored(t); len(got) != 1 {
		t.Fatalf("%d items stored, want 1", len(got))
	}
}

func TestLimitsAndValidation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxChars = 50; c.RatePerMinute = 6; c.Burst = 3 })
	tok := e.token(t)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"too long", `{"id":"a1","consent":true,"text":"` + strings.Repeat("я", 51) + `"}`, 413, "too_large"},
		{"huge body", `{"id":"a1","consent":true,"text":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large"},
		{"no consent", `{"id":"a1","text":"hello"}`, 422, "no_consent"},
		{"empty", `{"id":"a1","consent":true,"text":"   "}`, 422, "invalid"},
		{"bad phone", `{"id":"a1","consent":true,"phone":"12"}`, 422, "invalid"},
		{"bad email", `{"id":"a1","consent":true,"email":"ivan@"}`, 422, "invalid"},
		{"bad client id", `{"id":"a b","consent":true,"text":"hi"}`, 400, "malformed"},
		{"not JSON", `{"id":`, 400, "malformed"},
	}
	for _, tc := range cases {
		e.ch.perSess = nil // the rate limit is tested below
		if a := e.do(t, "POST", "/webchat/v1/messages", tok, shop, tc.body); a.Status != tc.status || a.Body["code"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, a.Status, a.Body, tc.status, tc.code)
		}
	}
	if got := e.Stored(t); len(got) != 0 {
		t.Fatalf("refused messages stored %d items", len(got))
	}
	// No HTML is interpreted anywhere: the text is stored and sent back as it was.
	e2 := newEnv(t, func(c *Config) { c.RatePerMinute = 6; c.Burst = 3 })
	tok = e2.token(t)
	for i := range 3 {
		if a := e2.post(t, tok, fmt.Sprint("m", i), "<img src=x onerror=alert(1)>"); a.Status != 202 {
			t.Fatalf("message %d: %d %v", i, a.Status, a.Body)
		}
	}
	a := e2.post(t, tok, "m3", "one more")
	if a.Status != 429 || a.Header.Get("Retry-After") != "10" || a.Body["code"] != "rate_limited" {
		t.Fatalf("4th message at once: %d %v %v", a.Status, a.Header, a.Body)
	}
	// Another session from the same address is not limited by this one's budget.
	if a := e2.post(t, e2.token(t), "m1", "hi"); a.Status != 202 {
		t.Fatalf("another session: %d", a.Status)
	}
	e2.Clock.Advance(10 * time.Second)
	if a := e2.post(t, tok, "m3", "one more"); a.Status != 202 {
		t.Fatalf("after the wait: %d", a.Status)
	}
	if in := e2.Stored(t)[0]; in.Text != "<img src=x onerror=alert(1)>" || in.Meta["consent_at"] == "" || in.Meta["policy_version"] != "1" {
		t.Fatalf("stored %+v", in)
	}

	// Per address: every request counts.
	e3 := newEnv(t, func(c *Config) { c.IPRatePerMinute = 60; c.IPBurst = 2 })
	e3.token(t)
	e3.token(t)
	if a := e3.do(t, "POST", "/webchat/v1/session", "", shop, ""); a.Status != 429 || a.Header.Get("Retry-After") != "1" {
		t.Fatalf("3rd request from one address: %d %v", a.Status, a.Header)
	}
}

func TestCallbackRequest(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t)
	a := e.do(t, "POST", "/webchat/v1/messages", tok, shop, `{"id":"cb1","consent":true,"name":"Ольга","phone":"8 916 555-01-23","email":"Olga@Example.com"}`)
	if a.Status != 202 {
		t.Fatalf("callback: %d %v", a.Status, a.Body)
	}
	in := e.Stored(t)[0]
	if in.Phone != "+79165550123" || in.Email != "olga@example.com" || in.DisplayName != "Ольга" || in.Meta["callback"] != "requested" ||
		in.ContactID != sidOf(tok) || in.Channel != Name {
		t.Fatalf("stored %+v", in)
	}
}

// A retried post (same client id) is one lead message and one history entry.
func TestDuplicatePosts(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t)
	first := e.post(t, tok, "m-1", "Is the sofa in stock?")
	again := e.post(t, tok, "m-1", "Is the sofa in stock?")
	if first.Status != 202 || again.Status != 202 || first.Body["duplicate"] != false || again.Body["duplicate"] != true || first.Body["id"] != again.Body["id"] {
		t.Fatalf("first %v, again %v", first.Body, again.Body)
	}
	// The same client id in another session is another message.
	if a := e.post(t, e.token(t), "m-1", "Is the sofa in stock?"); a.Body["duplicate"] != false {
		t.Fatalf("another session: %v", a.Body)
	}
	if got := e.Stored(t); len(got) != 2 {
		t.Fatalf("%d items stored, want 2", len(got))
	}
	evs, _ := e.ch.readAfter(context.Background(), sidOf(tok), "0", 10)
	if len(evs) != 1 {
		t.Fatalf("history %v", evs)
	}
	// A send retried by the router (same outbound id) is one history entry too.
	r1 := e.reply(t, tok, "out-1", "Yes")
	r2 := e.reply(t, tok, "out-1", "Yes")
	if r1 != r2 {
		t.Fatalf("the retried send got %v, first %v", r2, r1)
	}
	evs, _ = e.ch.readAfter(context.Background(), sidOf(tok), "0", 10)
	if texts(evs) != "in:Is the sofa in stock? out:Yes" {
		t.Fatalf("history %s", texts(evs))
	}
}

// SSE: the history, then live events; after a reconnect with Last-Event-ID exactly the
// events after it, in order; a reply written to the stream is reported delivered once.
func TestEventsResumeAfterReconnect(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t)
	e.post(t, tok, "m1", "Hello")
	res := e.reply(t, tok, "out-1", "Hi! How can I help?")

	evs, stop := e.sse(t, tok, "")
	got := []Event{next(t, evs), next(t, evs)}
	if texts(got) != "in:Hello out:Hi! How can I help?" || got[0].CID != "m1" {
		t.Fatalf("history: %+v", got)
	}
	// Live: a new message and a reply arrive while the stream is open.
	e.post(t, tok, "m2", "A sofa")
	e.reply(t, tok, "out-2", "Which colour?")
	got = append(got, next(t, evs), next(t, evs))
	if texts(got[2:]) != "in:A sofa out:Which colour?" {
		t.Fatalf("live: %s", texts(got[2:]))
	}
	stop()

	// While the visitor is away: two more replies. The reconnect resumes after the last id.
	e.reply(t, tok, "out-3", "Green?")
	e.reply(t, tok, "out-4", "Or grey?")
	evs, stop = e.sse(t, tok, got[3].ID)
	resumed := []Event{next(t, evs), next(t, evs)}
	if texts(resumed) != "out:Green? out:Or grey?" {
		t.Fatalf("after reconnect: %s", texts(resumed))
	}
	select {
	case ev := <-evs:
		t.Fatalf("an extra event after resuming: %+v", ev)
	case <-time.After(3 * e.ch.cfg.Heartbeat): // heartbeats re-read the history: still nothing new
	}
	stop()

	// Every reply written to the stream was reported delivered, once.
	status := map[string]int{}
	for _, in := range e.Stored(t) {
		if in.Kind == channels.KindStatus {
			if in.Meta["status"] != "delivered" || in.Meta["transport"] != "sse" {
				t.Errorf("status %+v", in)
			}
			status[in.Meta["ref"]]++
		}
	}
	if len(status) != 4 || status[res.ChannelMessageID] != 1 {
		t.Fatalf("delivery statuses %v (first ref %s)", status, res.ChannelMessageID)
	}
}

// A visitor who closes the tab right after a reply was flushed to them still gets it reported
// delivered: the report does not ride on the request's context (the resumed stream starts
// after that reply, so a report lost with the request would be lost for ever). CI caught this
// as a rare failure of TestEventsResumeAfterReconnect; here the request is already gone.
func TestDeliveredAfterVisitorLeft(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t)
	e.post(t, tok, "m1", "Hello")
	res := e.reply(t, tok, "out-1", "Hi!")
	evs, err := e.ch.readAfter(context.Background(), sidOf(tok), "", batch)
	if err != nil || len(evs) != 2 {
		t.Fatalf("history: %v %+v", err, evs)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	e.ch.delivered(gone, sidOf(tok), evs, "sse")
	n := 0
	for _, in := range e.Stored(t) {
		if in.Kind == channels.KindStatus {
			n++
			if in.Meta["ref"] != res.ChannelMessageID || in.Meta["status"] != "delivered" {
				t.Errorf("status %+v", in)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d delivery statuses after the visitor left, want 1", n)
	}
}

// Long polling: the events after ?after=, or a wait until one arrives.
func TestPollFallback(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(t)
	e.post(t, tok, "m1", "Hello")
	a := e.do(t, "GET", "/webchat/v1/poll?wait=0&token="+tok, "", shop, "")
	list, _ := a.Body["events"].([]any)
	if a.Status != 200 || len(list) != 1 {
		t.Fatalf("poll: %d %v", a.Status, a.Body)
	}
	last := list[0].(map[string]any)["id"].(string)
	done := make(chan answer)
	go func() { done <- e.do(t, "GET", "/webchat/v1/poll?wait=10&after="+last, tok, shop, "") }()
	// The poll waits; the reply wakes it.
	for e.ch.hub.open() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	e.reply(t, tok, "out-1", "Hi!")
	a = <-done
	list, _ = a.Body["events"].([]any)
	if a.Status != 200 || len(list) != 1 || list[0].(map[string]any)["text"] != "Hi!" {
		t.Fatalf("long poll: %d %v", a.Status, a.Body)
	}
	n := 0
	for _, in := range e.Stored(t) {
		if in.Kind == channels.KindStatus && in.Meta["transport"] == "poll" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d delivery statuses, want 1", n)
	}
}

// A reply sent by another gateway process (the router's send worker runs anywhere) reaches
// the stream open on this one through Redis Pub/Sub.
func TestEventsAcrossProcesses(t *testing.T) {
	// This process's streams re-read the history only hourly: only a notification is fast.
	e := newEnv(t, func(c *Config) { c.Heartbeat = time.Hour; c.StreamDuration = time.Hour })
	other := newEnvOn(t, e.Env, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- e.ch.Run(ctx) }()
	for {
		n, err := e.Redis.PubSubNumSub(ctx, e.ch.notifyChannel()).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[e.ch.notifyChannel()] > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	tok := e.token(t)
	evs, stop := e.sse(t, tok, "")
	defer stop()
	if _, err := other.ch.Send(ctx, channels.Outbound{ID: "o1", Channel: Name, ContactID: sidOf(tok), Kind: "reply", ManagerID: "anna", Text: "From afar"}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, evs); ev.Text != "From afar" {
		t.Fatalf("got %+v", ev)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t, nil)
	for name, out := range map[string]channels.Outbound{
		"no session":      {ID: "o1", ContactID: "123", Text: "hi"},
		"empty":           {ID: "o1", ContactID: newSID(), Text: "  "},
		"unknown account": {ID: "o1", Account: "blog", ContactID: newSID(), Text: "hi"},
	} {
		if _, err := e.ch.Send(context.Background(), out); !channels.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
}

func TestWidgetCaching(t *testing.T) {
	e := newEnv(t, nil)
	get := func(h map[string]string) *http.Response {
		req, _ := http.NewRequest("GET", e.srv.URL+"/webchat/webchat.js", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	r := get(nil)
	etag := r.Header.Get("ETag")
	if r.StatusCode != 200 || etag == "" || r.Header.Get("Cache-Control") != "public, max-age=3600" ||
		r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || r.Header.Get("Content-Encoding") != "" ||
		r.ContentLength != int64(len(widgetJS)) {
		t.Fatalf("plain: %d %v", r.StatusCode, r.Header)
	}
	if r := get(map[string]string{"Accept-Encoding": "gzip, br"}); r.Header.Get("Content-Encoding") != "gzip" || r.ContentLength != int64(GzipSize()) {
		t.Fatalf("gzip: %v", r.Header)
	}
	if r := get(map[string]string{"Accept-Encoding": "gzip;q=0"}); r.Header.Get("Content-Encoding") != "" {
		t.Fatalf("gzip refused but sent: %v", r.Header)
	}
	if r := get(map[string]string{"If-None-Match": etag}); r.StatusCode != 304 {
		t.Fatalf("revalidation: %d", r.StatusCode)
	}
	if r := get(map[string]string{"If-None-Match": `"other"`}); r.StatusCode != 200 {
		t.Fatalf("changed: %d", r.StatusCode)
	}
	t.Logf("webchat.js: %d bytes, %d gzipped", len(widgetJS), GzipSize())
}

func TestWidgetTexts(t *testing.T) {
	e := newEnv(t, nil)
	for _, lang := range []string{"ru", "en"} {
		a := e.do(t, "GET", "/webchat/v1/config?lang="+lang+"-XX", "", shop, "")
		texts, _ := a.Body["texts"].(map[string]any)
		if a.Status != 200 || a.Body["lang"] != lang || texts["title"] == "" || texts["title"] == nil ||
			a.Body["require_consent"] != true || a.Body["policy_url"] != "https://shop.example/privacy" {
			t.Fatalf("%s: %d %v", lang, a.Status, a.Body)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	c := Config{Enabled: true, Secret: "short", AllowedOrigins: []string{"shop.example"}, Locale: "de"}
	c.Defaults()
	err := c.Validate()
	for _, want := range []string{"secret: must be at least 32 bytes", "allowed_origins[0]: must be an origin", "locale: must be one of"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Error("the error shows the secret")
	}
	c = Config{Enabled: true}
	c.Defaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "secret: is required") || !strings.Contains(err.Error(), "allowed_origins: is required") {
		t.Errorf("empty section: %v", err)
	}
	var off Config
	off.Defaults()
	if off.Account != "" {
		t.Errorf("a disabled section got defaults: %+v", off)
	}
	if err := off.Validate(); err != nil {
		t.Errorf("a disabled section: %v", err)
	}
}

// Behind the gateway's http.Server (read and write timeouts far shorter than a stream) an
// SSE response and a long poll last as long as they are meant to.
func TestStreamsOutlastServerTimeouts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Heartbeat = 100 * time.Millisecond; c.PollWait = 2 * time.Second })
	mux := http.NewServeMux()
	e.ch.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	defer srv.Close()
	e.srv = srv
	tok := e.token(t)
	evs, stop := e.sse(t, tok, "")
	defer stop()
	polled := make(chan answer, 1)
	go func() { polled <- e.do(t, "GET", "/webchat/v1/poll?wait=2", tok, shop, "") }()
	time.Sleep(time.Second) // past both server timeouts, on purpose: a real wait of the network kind
	e.reply(t, tok, "out-1", "Still here")
	if ev := next(t, evs); ev.Text != "Still here" {
		t.Fatalf("sse got %+v", ev)
	}
	a := <-polled
	if list, _ := a.Body["events"].([]any); a.Status != 200 || len(list) != 1 {
		t.Fatalf("poll: %d %v", a.Status, a.Body)
	}
}

// Forget (the router's erasure hook) deletes the session's history and dedupe hash; it
// ignores another account's or a malformed contact id, and forgetting twice is no error.
func TestForget(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok, other := e.token(t), e.token(t)
	e.post(t, tok, "m1", "Private question")
	e.reply(t, tok, "out-1", "Private answer")
	e.post(t, other, "m1", "Someone else")
	sid := sidOf(tok)
	keys := []string{e.ch.historyKey(sid), e.ch.seenKey(sid)}
	if n := e.ch.rdb.Exists(ctx, keys...).Val(); n != 2 {
		t.Fatalf("%d of the session's keys exist before Forget, want 2", n)
	}
	for _, c := range []struct{ account, contact string }{{"other-shop", sid}, {DefaultAccount, "not-a-session"}} {
		if err := e.ch.Forget(ctx, c.account, c.contact); err != nil {
			t.Fatalf("Forget(%q, %q): %v", c.account, c.contact, err)
		}
	}
	if n := e.ch.rdb.Exists(ctx, keys...).Val(); n != 2 {
		t.Fatal("Forget of another account's or a malformed contact deleted the session")
	}
	for range 2 {
		if err := e.ch.Forget(ctx, DefaultAccount, sid); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.ch.rdb.Exists(ctx, keys...).Val(); n != 0 {
		t.Fatalf("%d of the session's keys left after Forget", n)
	}
	a := e.do(t, "GET", "/webchat/v1/poll?wait=0", tok, shop, "")
	if list, _ := a.Body["events"].([]any); a.Status != 200 || len(list) != 0 {
		t.Fatalf("poll after Forget: %d %v, want 200 and no events", a.Status, a.Body)
	}
	a = e.do(t, "GET", "/webchat/v1/poll?wait=0", other, shop, "")
	if list, _ := a.Body["events"].([]any); len(list) != 1 {
		t.Fatalf("another session's history after Forget: %v", a.Body)
	}
}
