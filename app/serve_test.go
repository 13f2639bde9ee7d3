package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// t0 is a Wednesday 10:00 UTC.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

const (
	annaToken  = "anna-serve-token-4e8a1f"
	borisToken = "boris-serve-token-7c2d9b"
)

// testConfig is a small config on the test Redis with a fresh key prefix (deleted at the end). extra is appended
// to the router: section.
func testConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	_, prefix := redistest.New(t) // its keys are deleted when the test ends
	doc := fmt.Sprintf(`
instance_id: servetest
log:
  level: error
http:
  listen: "127.0.0.1:0"
  shutdown_timeout: 10s
redis:
  url: %s
  prefix: %s
router:
  strategy: least_busy
  offer_timeout: 30s
  first_response: 2m
  max_offers: 3
%s
managers:
  - id: anna
    name: Anna
    token: %s
  - id: boris
    name: Boris
    token: %s
channels:
  form:
    rate_per_minute: -1
`, redistest.URL(t), prefix, extra, annaToken, borisToken)
	cfg, err := config.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func testLogger() *slog.Logger {
	if os.Getenv("DEBUGLOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// testGateway is a built (not running) gateway served by httptest, driven by Settle.
type testGateway struct {
	t     *testing.T
	ctx   context.Context
	g     *Gateway
	clock *clock.Fake
	srv   *httptest.Server
}

func newTestGateway(t *testing.T, cfg *config.Config) *testGateway {
	t.Helper()
	return newTestGatewayLog(t, cfg, testLogger())
}

func newTestGatewayLog(t *testing.T, cfg *config.Config, log *slog.Logger) *testGateway {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	g, err := Build(ctx, cfg, log, clk)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return &testGateway{t: t, ctx: ctx, g: g, clock: clk, srv: srv}
}

func (tg *testGateway) settle() {
	tg.t.Helper()
	if err := tg.g.Router.Settle(tg.ctx); err != nil {
		tg.t.Fatal(err)
	}
}

// call does one HTTP request and decodes a JSON answer into v (if not nil).
func (tg *testGateway) call(method, path, token, contentType, body string, v any) int {
	tg.t.Helper()
	req, err := http.NewRequest(method, tg.srv.URL+path, strings.NewReader(body))
	if err != nil {
		tg.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := tg.srv.Client().Do(req)
	if err != nil {
		tg.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tg.t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			tg.t.Fatalf("%s %s: %d %v in %q", method, path, res.StatusCode, err, b)
		}
	}
	return res.StatusCode
}

func (tg *testGateway) must(want int, method, path, token, contentType, body string, v any) {
	tg.t.Helper()
	if got := tg.call(method, path, token, contentType, body, v); got != want {
		tg.t.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
}

func (tg *testGateway) online(id, token string) {
	tg.t.Helper()
	var v router.ManagerView
	tg.must(200, "PUT", "/api/v1/managers/"+id+"/status", token, "application/json", `{"online": true}`, &v)
	if !v.Online {
		tg.t.Fatalf("%s not online: %+v", id, v)
	}
	tg.settle()
}

type formAnswer struct {
	Status    string `json:"status"`
	LeadID    string `json:"lead_id"`
	Duplicate bool   `json:"duplicate"`
}

func (tg *testGateway) formLead(body string) formAnswer {
	tg.t.Helper()
	var a formAnswer
	tg.must(http.StatusAccepted, "POST", "/webhooks/form", "", "application/json", body, &a)
	return a
}

type offers struct {
	Offers        []router.Conversation `json:"offers"`
	Conversations []router.Conversation `json:"conversations"`
}

func (tg *testGateway) offers(id, token string) offers {
	tg.t.Helper()
	var o offers
	tg.must(200, "GET", "/api/v1/managers/"+id+"/conversations", token, "", "", &o)
	return o
}

// scrape reads /metrics in the text format: series ("name{labels}" as exposed) -> value.
func (tg *testGateway) scrape() map[string]float64 {
	tg.t.Helper()
	res, err := tg.srv.Client().Get(tg.srv.URL + "/metrics")
	if err != nil {
		tg.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		tg.t.Fatalf("/metrics: %d", res.StatusCode)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			tg.t.Fatalf("bad exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			tg.t.Fatalf("bad value in %q", line)
		}
		if _, dup := m[line[:i]]; dup {
			tg.t.Fatalf("series exposed twice: %q", line[:i])
		}
		m[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		tg.t.Fatal(err)
	}
	return m
}

// checkMetrics compares exact values; a series missing from the scrape is an error.
func checkMetrics(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for series, w := range want {
		v, ok := got[series]
		if !ok {
			t.Errorf("%s: not exposed", series)
			continue
		}
		if v != w {
			t.Errorf("%s = %v, want %v", series, v, w)
		}
	}
}

const leadJSON = `{"name": "Ivan Petrov", "phone": "8 (916) 123-45-67", "email": "ivan@example.com",
	"message": "Call me back about the price", "consent": true, "utm_campaign": "winter", "page_url": "https://shop.example/sofa"}`

// TestScenarioFormLeadContacted drives the whole gateway over HTTP: a manager goes online,
// a web-form lead arrives, is offered, accepted and, 40 s later, marked contacted.
func TestScenarioFormLeadContacted(t *testing.T) {
	var logs testlog.Buffer
	tg := newTestGatewayLog(t, testConfig(t, ""), slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer func() {
		// Logs carry ids and sizes: no token, name, phone, e-mail or message text.
		for _, s := range []string{annaToken, borisToken, "Ivan", "Petrov", "9161234567", "123-45-67", "ivan@example.com", "Call me back", "sofa"} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("the logs contain %q", s)
			}
		}
		if !strings.Contains(logs.String(), "form: lead accepted") || !strings.Contains(logs.String(), "manager presence changed") {
			t.Errorf("debug logs not captured:\n%s", logs.String())
		}
	}()
	tg.online("anna", annaToken)

	first := tg.formLead(leadJSON)
	if first.Status != "accepted" || first.LeadID == "" || first.Duplicate {
		t.Fatalf("form answer %+v", first)
	}
	// The same submission again is the same lead.
	if again := tg.formLead(leadJSON); !again.Duplicate || again.LeadID != first.LeadID {
		t.Fatalf("second submission %+v, want a duplicate of %s", again, first.LeadID)
	}
	tg.settle()

	o := tg.offers("anna", annaToken)
	if len(o.Offers) != 1 {
		t.Fatalf("anna's offers: %+v", o)
	}
	c := o.Offers[0]
	if c.Channel != "form" || c.Phone != "+79161234567" || c.Name != "Ivan Petrov" || c.Email != "ivan@example.com" ||
		c.Source != "winter" || c.Meta["consent_at"] == "" || c.Meta["policy_version"] != "1" || c.Meta["page_url"] != "https://shop.example/sofa" {
		t.Fatalf("offered conversation %+v", c)
	}
	if boris := tg.offers("boris", borisToken); len(boris.Offers) != 0 {
		t.Fatalf("boris (offline) was offered %+v", boris)
	}
	id := strconv.FormatInt(c.ID, 10)
	var accepted struct{ Conversation router.Conversation }
	tg.must(200, "POST", "/api/v1/conversations/"+id+"/accept", annaToken, "", "", &accepted)
	if accepted.Conversation.State != router.StateAssigned {
		t.Fatalf("after accept: %+v", accepted.Conversation)
	}

	tg.clock.Advance(40 * time.Second)
	var contacted struct{ Conversation router.Conversation }
	tg.must(200, "POST", "/api/v1/conversations/"+id+"/contacted", annaToken, "", "", &contacted)
	if cc := contacted.Conversation; !cc.Replied || cc.FirstReplyAt.Sub(cc.FirstInboundAt) != 40*time.Second {
		t.Fatalf("after contacted: %+v", cc)
	}
	tg.settle()

	m := tg.scrape()
	checkMetrics(t, m, map[string]float64{
		`lidorub_messages_received_total{channel="form"}`:              1,
		`lidorub_messages_duplicate_total{channel="form"}`:             1,
		`lidorub_messages_received_total{channel="telegram"}`:          0,
		`lidorub_conversations_created_total{channel="form"}`:          1,
		`lidorub_offers_total{manager="anna"}`:                         1,
		`lidorub_offers_total{manager="boris"}`:                        0,
		`lidorub_reoffers_total`:                                       0,
		`lidorub_time_to_first_offer_seconds_count{channel="form"}`:    1,
		`lidorub_time_to_first_offer_seconds_sum{channel="form"}`:      0,
		`lidorub_offer_to_accept_seconds_count{manager="anna"}`:        1,
		`lidorub_offer_to_accept_seconds_sum{manager="anna"}`:          0,
		`lidorub_accept_to_first_reply_seconds_count{manager="anna"}`:  1,
		`lidorub_accept_to_first_reply_seconds_sum{manager="anna"}`:    40,
		`lidorub_speed_to_lead_seconds_count{channel="form"}`:          1,
		`lidorub_speed_to_lead_seconds_sum{channel="form"}`:            40,
		`lidorub_speed_to_lead_seconds_bucket{channel="form",le="30"}`: 0,
		`lidorub_speed_to_lead_seconds_bucket{channel="form",le="45"}`: 1,
		`lidorub_speed_to_lead_seconds_count{channel="telegram"}`:      0,
		`lidorub_sla_breaches_total{kind="offer_timeout"}`:             0,
		`lidorub_sla_breaches_total{kind="first_response"}`:            0,
		`lidorub_escalations_total{reason="max_offers"}`:               0,
		`lidorub_messages_sent_total{channel="form",kind="auto_ack"}`:  0, // the form has no sender
		`lidorub_waiting_conversations`:                                0,
		`lidorub_managers{state="online"}`:                             1,
		`lidorub_managers{state="offline"}`:                            1,
		`lidorub_managers{state="busy"}`:                               0,
		`lidorub_managers{state="off_shift"}`:                          0,
		`lidorub_manager_open_conversations{manager="anna"}`:           1,
		`lidorub_manager_open_conversations{manager="boris"}`:          0,
		`lidorub_stream_pending{stream="inbound"}`:                     0,
		`lidorub_stream_dead_letter{stream="inbound"}`:                 0,
		`lidorub_stream_dead_letter{stream="outbound"}`:                0,
		`lidorub_redis_up`: 1,
	})
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("the Go runtime collector is not registered")
	}
	// Label values come only from config: no series for an unknown manager or channel.
	for series := range m {
		if strings.Contains(series, `manager="`) && !strings.Contains(series, `manager="anna"`) && !strings.Contains(series, `manager="boris"`) {
			t.Errorf("unexpected manager label: %s", series)
		}
	}
}

// TestScenarioOfferLapses: an offer not accepted within router.offer_timeout goes to the
// other manager, counted as a breach and a re-offer.
func TestScenarioOfferLapses(t *testing.T) {
	tg := newTestGateway(t, testConfig(t, ""))
	tg.online("anna", annaToken)
	tg.online("boris", borisToken)
	tg.formLead(leadJSON)
	tg.settle()

	tokens := map[string]string{"anna": annaToken, "boris": borisToken}
	first := ""
	for id, tok := range tokens {
		if len(tg.offers(id, tok).Offers) == 1 {
			first = id
		}
	}
	if first == "" {
		t.Fatal("nobody was offered the lead")
	}
	second := map[string]string{"anna": "boris", "boris": "anna"}[first]

	tg.clock.Advance(29 * time.Second)
	tg.settle()
	if len(tg.offers(first, tokens[first]).Offers) != 1 {
		t.Fatal("the offer lapsed before offer_timeout")
	}
	tg.clock.Advance(2 * time.Second) // 31 s: past offer_timeout
	tg.settle()
	if o := tg.offers(first, tokens[first]); len(o.Offers) != 0 {
		t.Fatalf("%s still has the offer: %+v", first, o)
	}
	o := tg.offers(second, tokens[second])
	if len(o.Offers) != 1 || o.Offers[0].Offers != 2 || o.Offers[0].OfferTo != second {
		t.Fatalf("%s's offers after the lapse: %+v", second, o)
	}

	checkMetrics(t, tg.scrape(), map[string]float64{
		`lidorub_sla_breaches_total{kind="offer_timeout"}`:             1,
		`lidorub_sla_breaches_total{kind="first_response"}`:            0,
		`lidorub_reoffers_total`:                                       1,
		`lidorub_offers_total{manager="anna"}`:                         1,
		`lidorub_offers_total{manager="boris"}`:                        1,
		`lidorub_conversations_created_total{channel="form"}`:          1,
		`lidorub_time_to_first_offer_seconds_count{channel="form"}`:    1, // a re-offer is not a first offer
		`lidorub_timer_lateness_seconds_count`:                         1,
		`lidorub_timer_lateness_seconds_sum`:                           1, // due at 30 s, fired at 31 s
		`lidorub_escalations_total{reason="max_offers"}`:               0,
		`lidorub_waiting_conversations`:                                0,
		`lidorub_speed_to_lead_seconds_count{channel="form"}`:          0,
		`lidorub_manager_open_conversations{manager="` + first + `"}`:  0,
		`lidorub_manager_open_conversations{manager="` + second + `"}`: 1,
		`lidorub_managers{state="online"}`:                             2,
	})
}

func TestHealthAndReadiness(t *testing.T) {
	tg := newTestGateway(t, testConfig(t, ""))
	var v map[string]string
	tg.must(200, "GET", "/healthz", "", "", "", &v)
	if v["status"] != "ok" {
		t.Fatalf("/healthz: %v", v)
	}
	tg.must(200, "GET", "/readyz", "", "", "", &v)
	if v["status"] != "ready" {
		t.Fatalf("/readyz: %v", v)
	}
	tg.must(404, "GET", "/no/such/page", "", "", "", &v)
	if v["error"] != "not found" {
		t.Fatalf("unknown path: %v", v)
	}
	// A known path with the wrong method: 405 with Allow, in JSON; the form answers its own
	// 405 (and counts it).
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/healthz", "GET"},
		{"POST", "/metrics", "GET"},
		{"GET", "/webhooks/form", "POST"},
	} {
		req, _ := http.NewRequest(c.method, tg.srv.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 405 || !strings.Contains(res.Header.Get("Allow"), c.allow) ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d Allow %q Content-Type %q, want 405 allowing %s in JSON", c.method, c.path,
				res.StatusCode, res.Header.Get("Allow"), res.Header.Get("Content-Type"), c.allow)
		}
	}

	// A second gateway whose Redis connection is gone: alive, not ready, redis_up 0.
	down := newTestGateway(t, testConfig(t, ""))
	if err := down.g.Close(); err != nil {
		t.Fatal(err)
	}
	down.must(200, "GET", "/healthz", "", "", "", &v)
	down.must(503, "GET", "/readyz", "", "", "", &v)
	if v["status"] != "redis unreachable" {
		t.Fatalf("/readyz with Redis down: %v", v)
	}
	checkMetrics(t, down.scrape(), map[string]float64{`lidorub_redis_up`: 0})
	// The form answers 503 (retry later) rather than accepting a lead it cannot store.
	var e map[string]string
	if got := down.call("POST", "/webhooks/form", "", "application/json", leadJSON, &e); got != 503 {
		t.Fatalf("form with Redis down: %d %v", got, e)
	}
	// The first gateway is unaffected.
	tg.must(200, "GET", "/readyz", "", "", "", &v)
}

// TestGracefulShutdownLosesNothing runs the real server and workers (real clock), posts 50
// leads concurrently and cancels the context while they are in flight, with five more
// requests half-sent when the shutdown begins: those are finished and answered 202, and
// every lead that was answered 2xx is in the inbound stream exactly once.
func TestGracefulShutdownLosesNothing(t *testing.T) {
	cfg := testConfig(t, "")
	g, err := Build(context.Background(), cfg, testLogger(), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/webhooks/form"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- g.Run(ctx, ln) }()

	const n = 50
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[string]string{} // lead id -> message id we sent (phone)
		okCount  atomic.Int32
		failed   atomic.Int32
		start    = make(chan struct{})
	)
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			phone := fmt.Sprintf("+7916%07d", 1000000+i)
			body := fmt.Sprintf(`{"name": "Lead %d", "phone": %q, "message": "lead number %d", "consent": true}`, i, phone, i)
			req, _ := http.NewRequest("POST", url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err != nil {
				failed.Add(1) // refused or reset once the server stopped taking requests
				return
			}
			defer res.Body.Close()
			var a formAnswer
			if res.StatusCode/100 != 2 {
				failed.Add(1)
				return
			}
			if err := json.NewDecoder(res.Body).Decode(&a); err != nil || a.LeadID == "" || a.Duplicate {
				t.Errorf("lead %d: 2xx with answer %+v (%v)", i, a, err)
				return
			}
			mu.Lock()
			accepted[a.LeadID] = phone
			mu.Unlock()
			if okCount.Add(1) == 10 {
				cancel() // shut down while the other requests are in flight
			}
		}()
	}
	// Five requests already on the wire when the shutdown starts: headers and half a body.
	const nSlow = 5
	type slowReq struct {
		conn  net.Conn
		rest  string
		phone string
	}
	var slows []slowReq
	for i := 0; i < nSlow; i++ {
		phone := fmt.Sprintf("+7916%07d", 2000000+i)
		body := fmt.Sprintf(`{"name": "Slow %d", "phone": %q, "message": "slow lead %d", "consent": true}`, i, phone, i)
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		head := fmt.Sprintf("POST /webhooks/form HTTP/1.1\r\nHost: lidorub\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		if _, err := io.WriteString(conn, head+body[:len(body)/2]); err != nil {
			t.Fatal(err)
		}
		slows = append(slows, slowReq{conn: conn, rest: body[len(body)/2:], phone: phone})
	}

	close(start)
	wg.Wait()
	cancel()
	// The transport may hold connections it dialled but never sent a request on; the server
	// waits 5 s for such "new" connections before it treats them as idle. Close them.
	client.CloseIdleConnections()
	// Wait until the server has stopped accepting connections (its shutdown has begun).
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(time.Millisecond) // waiting for another goroutine to close the listener, not for a timer
	}
	select {
	case err := <-stopped:
		t.Fatalf("run returned (%v) while requests were still in flight", err)
	default:
	}
	// The in-flight requests complete and are answered 202.
	for i, sr := range slows {
		if _, err := io.WriteString(sr.conn, sr.rest); err != nil {
			t.Fatalf("slow request %d: %v", i, err)
		}
		res, err := http.ReadResponse(bufio.NewReader(sr.conn), nil)
		if err != nil {
			t.Fatalf("slow request %d: %v", i, err)
		}
		var a formAnswer
		err = json.NewDecoder(res.Body).Decode(&a)
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted || err != nil || a.LeadID == "" {
			t.Fatalf("slow request %d during shutdown: %d %+v %v", i, res.StatusCode, a, err)
		}
		accepted[a.LeadID] = sr.phone
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	// The server no longer takes requests.
	if res, err := client.Post(url, "application/json", strings.NewReader(leadJSON)); err == nil {
		res.Body.Close()
		t.Fatalf("a request after shutdown got %d", res.StatusCode)
	}

	entries, err := g.Conn.Client.XRange(context.Background(), g.Conn.Keys.Inbound(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	byContact := map[string]int{}
	for _, e := range entries {
		byID[e.ID]++
		in, err := store.DecodeInbound(e.Values)
		if err != nil {
			t.Fatalf("entry %s: %v", e.ID, err)
		}
		byContact[in.ContactID]++
	}
	for id, phone := range accepted {
		if byID[id] != 1 {
			t.Errorf("accepted lead %s is in the stream %d times", id, byID[id])
		}
		if byContact[phone] != 1 {
			t.Errorf("lead from %s is in the stream %d times", phone, byContact[phone])
		}
	}
	// Nothing was stored that the client was not told about: every entry is an accepted lead.
	if len(entries) != len(accepted) {
		t.Errorf("%d entries in the inbound stream, %d leads answered 2xx", len(entries), len(accepted))
	}
	if int(okCount.Load())+nSlow != len(accepted) || int(okCount.Load())+int(failed.Load()) != n {
		t.Errorf("%d ok + %d failed != %d", okCount.Load(), failed.Load(), n)
	}
	t.Logf("%d leads answered 2xx (%d of them sent in two halves across the start of the shutdown), %d refused after it; %d stream entries",
		len(accepted), nSlow, failed.Load(), len(entries))
}
