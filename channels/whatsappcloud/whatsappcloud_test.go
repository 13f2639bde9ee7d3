package whatsappcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

const (
	testSecret = "test-app-secret"
	testVerify = "verify-me"
	phone1     = "106540352242922"
	phone2     = "106540352242923"
	token1     = "EAAGwatoken1aaaaaaaaaaaaaaaaaaaaaaaaaaa"
	token2     = "EAAGwatoken2bbbbbbbbbbbbbbbbbbbbbbbbbbb"
	customer   = "79161234567"
)

var fixtureTime = time.Unix(1732780800, 0).UTC()

type graphRequest struct {
	Path string
	Auth string
	Body map[string]any
}

// fakeGraph speaks the Cloud API messages endpoint wire format.
type fakeGraph struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []graphRequest
	reply func(n int, r graphRequest) (int, http.Header, string)
}

func newFakeGraph(t *testing.T) *fakeGraph {
	g := &fakeGraph{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		gr := graphRequest{Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
		if err := json.Unmarshal(raw, &gr.Body); err != nil {
			t.Errorf("fake graph: body is not JSON: %v", err)
		}
		g.mu.Lock()
		g.reqs = append(g.reqs, gr)
		n := len(g.reqs)
		reply := g.reply
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if reply != nil {
			if status, h, body := reply(n, gr); status != 0 {
				for k, v := range h {
					w.Header()[k] = v
				}
				w.WriteHeader(status)
				_, _ = io.WriteString(w, body)
				return
			}
		}
		to, _ := gr.Body["to"].(string)
		if r, ok := gr.Body["recipient"].(string); ok {
			to = r
		}
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.out%d"}]}`,
			to, to, n)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGraph) requests() []graphRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphRequest(nil), g.reqs...)
}

type alerts struct {
	mu   sync.Mutex
	list []string
}

func (a *alerts) Alert(_ context.Context, channel, account, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, channel+"/"+account+": "+reason)
	return nil
}

type env struct {
	ch     *Channel
	rdb    *redis.Client
	keys   store.Keys
	clk    *clock.Fake
	graph  *fakeGraph
	alerts *alerts
	srv    http.Handler
	logs   *bytes.Buffer
	reg    *prometheus.Registry
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	rdb, prefix := redistest.New(t)
	e := &env{rdb: rdb, keys: store.NewKeys(prefix), clk: clock.NewFake(fixtureTime.Add(5 * time.Second)),
		graph: newFakeGraph(t), alerts: &alerts{}, logs: &bytes.Buffer{}, reg: prometheus.NewRegistry()}
	cfg := Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: testSecret, VerifyToken: testVerify, GraphURL: e.graph.srv.URL, GraphVersion: "v22.0"},
		Accounts: []Account{{PhoneNumberID: phone1, Token: token1}, {PhoneNumberID: phone2, Token: token2}}}
	for _, m := range mutate {
		m(&cfg)
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ch, err := New(cfg, channels.Deps{Ingester: store.NewIngest(rdb, e.keys, e.clk, nil), Redis: rdb, Keys: e.keys, Clock: e.clk, Log: log, Registerer: e.reg, Alerter: e.alerts})
	if err != nil {
		t.Fatal(err)
	}
	e.ch, e.srv = ch, ch.Handler()
	return e
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) post(t *testing.T, body []byte, sig string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	if sig != "" {
		r.Header.Set(meta.SignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

func (e *env) deliver(t *testing.T, name string) {
	t.Helper()
	body := fixture(t, name)
	if w := e.post(t, body, meta.Sign(testSecret, body)); w.Code != http.StatusOK {
		t.Fatalf("deliver %s: status %d %s", name, w.Code, w.Body)
	}
}

func (e *env) inbound(t *testing.T) []channels.Inbound { return channeltest.Stored(t, e.rdb, e.keys) }

func TestVerification(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		query  string
		status int
		body   string
	}{
		{"hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=CHALLENGE_ACCEPTED", 200, "CHALLENGE_ACCEPTED"},
		{"hub.mode=subscribe&hub.verify_token=verify-mE&hub.challenge=CHALLENGE_ACCEPTED", 403, `{"error":"verification failed"}`},
		{"hub.mode=subscribe&hub.challenge=1", 403, `{"error":"verification failed"}`},
	} {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, Path+"?"+tc.query, nil))
		if w.Code != tc.status || strings.TrimSpace(w.Body.String()) != tc.body {
			t.Errorf("%s: got %d %q, want %d %q", tc.query, w.Code, w.Body, tc.status, tc.body)
		}
	}
}

func TestSignatureRejected(t *testing.T) {
	e := newEnv(t)
	body := fixture(t, "text.json")
	for _, sig := range []string{"", meta.Sign("wrong", body), "sha256=", "sha256=" + strings.Repeat("0", 64)} {
		if w := e.post(t, body, sig); w.Code != http.StatusUnauthorized {
			t.Errorf("signature %q: status %d, want 401", sig, w.Code)
		}
	}
	if n := e.rdb.XLen(context.Background(), e.keys.Inbound()).Val(); n != 0 {
		t.Fatalf("%d entries after bad signatures, want 0", n)
	}
}

func TestTextWithProfileNameAndDuplicate(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "text.json")
	e.deliver(t, "text.json")
	got := e.inbound(t)
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
	in := got[0]
	if in.Channel != channels.WhatsAppCloud || in.Account != phone1 || in.ContactID != customer || in.DisplayName != "Ольга 🌸" ||
		in.Phone != "+79161234567" || in.Text != "Добрый день! Есть ли в наличии диван «Осло»? 🛋️" ||
		in.MessageID != "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUVCMDdGRjg4QjE2RjhFOTMxNwA=" || !in.SentAt.Equal(fixtureTime) {
		t.Fatalf("got %+v", in)
	}
	last, ok, err := e.ch.Window.Last(context.Background(), phone1, customer)
	if err != nil || !ok || !last.Equal(fixtureTime) {
		t.Fatalf("window = %v %v %v, want %v", last, ok, err, fixtureTime)
	}
}

func TestMessageTypes(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "types.json")
	got := e.inbound(t)
	type want struct {
		kind, text, attKind, attRef, attName, metaKey, metaVal string
	}
	wants := []want{
		{channels.KindMessage, "Вот такой", "image", "1003383421387256", "", "type", "image"},
		{channels.KindMessage, "", "voice", "1003383421387257", "", "type", "audio"},
		{channels.KindMessage, "", "video", "1003383421387258", "", "type", "video"},
		{channels.KindMessage, "Смета", "document", "1003383421387259", "smeta.pdf", "type", "document"},
		{channels.KindMessage, "", "sticker", "1003383421387260", "", "type", "sticker"},
		{channels.KindMessage, "", "location", "geo:55.7558,37.6173", "Офис Москва, Тверская 1", "type", "location"},
		{channels.KindMessage, "", "contact", "+7 916 765-43-21", "Иван Петров", "type", "contacts"},
		{channels.KindMessage, "Да, интересно", "", "", "", MetaReplyID, "yes"},
		{channels.KindMessage, "Диван 2", "", "", "", MetaReplyID, "sofa-2"},
		{channels.KindMessage, "Перезвоните мне", "", "", "", MetaPayload, "CALL_ME"},
		{channels.KindReaction, "👍", "", "", "", MetaReactedTo, "wamid.out1"},
		{channels.KindMessage, "", "", "", "", "unsupported", "true"},
	}
	if len(got) != len(wants) {
		t.Fatalf("%d entries, want %d (system message ignored)", len(got), len(wants))
	}
	for i, w := range wants {
		in := got[i]
		if in.Kind != w.kind || in.Text != w.text || in.DisplayName != "Kerry Fisher" || in.Meta[w.metaKey] != w.metaVal {
			t.Errorf("%d (%s): kind %q text %q name %q meta %v", i, in.MessageID, in.Kind, in.Text, in.DisplayName, in.Meta)
		}
		if w.attKind == "" {
			if len(in.Attachments) != 0 {
				t.Errorf("%d: unexpected attachments %+v", i, in.Attachments)
			}
			continue
		}
		if len(in.Attachments) != 1 || in.Attachments[0].Kind != w.attKind || in.Attachments[0].Ref != w.attRef || in.Attachments[0].Name != w.attName {
			t.Errorf("%d: attachments %+v, want %s %s %s", i, in.Attachments, w.attKind, w.attRef, w.attName)
		}
	}
	if got[9].Meta[MetaReplyTo] != "wamid.template1" {
		t.Errorf("button context: %v", got[9].Meta)
	}
}

func TestStatuses(t *testing.T) {
	e := newEnv(t)
	// The customer wrote, so the window is open; the failed 131047 status closes it.
	e.deliver(t, "text.json")
	e.deliver(t, "statuses.json")
	got := e.inbound(t)[1:]
	want := []struct{ id, ref, status, err string }{
		{"wamid.out1:sent", "wamid.out1", "sent", ""},
		{"wamid.out1:delivered", "wamid.out1", "delivered", ""},
		{"wamid.out1:read", "wamid.out1", "read", ""},
		{"wamid.out2:failed", "wamid.out2", "failed", "Re-engagement message (WhatsApp error 131047)"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d status entries, want %d (deleted ignored)", len(got), len(want))
	}
	for i, w := range want {
		s := got[i]
		if s.Kind != channels.KindStatus || s.MessageID != w.id || s.Meta["ref"] != w.ref || s.Meta["status"] != w.status || s.Meta["error"] != w.err || s.ContactID != customer {
			t.Errorf("%d: %+v, want %+v", i, s, w)
		}
	}
	if w, _ := e.ch.Window.State(context.Background(), phone1, customer); !w.Closed {
		t.Error("a failed re-engagement status newer than the customer's message should close the window")
	}
}

func TestBatchSeveralEntries(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "batch.json")
	got := e.inbound(t)
	if len(got) != 6 {
		t.Fatalf("%d entries, want 6", len(got))
	}
	accts := []string{phone1, phone1, phone2, phone2, phone1, phone1}
	names := []string{"A", "B", "C", "C", "D", "D"}
	for i := range got {
		if got[i].MessageID != fmt.Sprintf("wamid.b%d", i+1) || got[i].Account != accts[i] || got[i].DisplayName != names[i] {
			t.Errorf("%d: %s %s %s", i, got[i].MessageID, got[i].Account, got[i].DisplayName)
		}
	}
}

func TestUnknownNumberDropped(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "unknown_number.json")
	if got := e.inbound(t); len(got) != 0 {
		t.Fatalf("%d entries", len(got))
	}
}

func out(id, text string) channels.Outbound {
	return channels.Outbound{ID: id, ConversationID: "7", Channel: channels.WhatsAppCloud, Account: phone1,
		ContactID: customer, Kind: "reply", ManagerID: "m1", Text: text}
}

func TestSendInsideWindow(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "text.json")
	e.clk.Advance(23 * time.Hour)
	res, err := e.ch.Send(context.Background(), out("o1", "Да, есть! 🛋️"))
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.graph.requests()
	if len(reqs) != 1 || reqs[0].Path != "/v22.0/"+phone1+"/messages" || reqs[0].Auth != "Bearer "+token1 {
		t.Fatalf("requests %+v", reqs)
	}
	b := reqs[0].Body
	if b["messaging_product"] != "whatsapp" || b["to"] != customer || b["type"] != "text" ||
		b["text"].(map[string]any)["body"] != "Да, есть! 🛋️" {
		t.Fatalf("body %v", b)
	}
	if res.ChannelMessageID != "wamid.out1" {
		t.Fatalf("channel message id %q", res.ChannelMessageID)
	}
}

func TestSendOutsideWindow(t *testing.T) {
	t.Run("no template", func(t *testing.T) {
		e := newEnv(t)
		e.deliver(t, "text.json")
		e.clk.Advance(25 * time.Hour)
		_, err := e.ch.Send(context.Background(), out("o1", "Ответ"))
		if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "outside the 24-hour customer-service window") ||
			!strings.Contains(err.Error(), "no approved template is configured") {
			t.Fatalf("err = %v", err)
		}
		if n := len(e.graph.requests()); n != 0 {
			t.Fatalf("%d requests", n)
		}
	})
	t.Run("template", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Template = Template{Name: "reengage_ru", Language: "ru"} })
		e.deliver(t, "text.json")
		e.clk.Advance(25 * time.Hour)
		res, err := e.ch.Send(context.Background(), out("o1", "Ответ"))
		if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "NOT sent") || !strings.Contains(err.Error(), "template reengage_ru was sent instead") {
			t.Fatalf("err = %v", err)
		}
		reqs := e.graph.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want the template", len(reqs))
		}
		b := reqs[0].Body
		tpl := b["template"].(map[string]any)
		if b["type"] != "template" || b["to"] != customer || tpl["name"] != "reengage_ru" || tpl["language"].(map[string]any)["code"] != "ru" || b["text"] != nil {
			t.Fatalf("template body %v", b)
		}
		if res.ChannelMessageID != "wamid.out1" {
			t.Fatalf("template message id %q", res.ChannelMessageID)
		}
		// A second reply the same day does not send the template again.
		_, err = e.ch.Send(context.Background(), out("o2", "Ответ 2"))
		if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "already sent") {
			t.Fatalf("second: err = %v", err)
		}
		if n := len(e.graph.requests()); n != 1 {
			t.Fatalf("%d requests, want still 1", n)
		}
		// The customer answers: free-form replies go again.
		e.clk.Advance(time.Hour)
		body := bytes.Replace(fixture(t, "text.json"), []byte(`"1732780800"`), []byte(fmt.Sprint(e.clk.Now().Unix())), 1)
		body = bytes.Replace(body, []byte("wamid.HBg"), []byte("wamid.NEW"), 1)
		if w := e.post(t, body, meta.Sign(testSecret, body)); w.Code != 200 {
			t.Fatal(w.Code)
		}
		if _, err := e.ch.Send(context.Background(), out("o3", "Ответ 3")); err != nil {
			t.Fatalf("after the customer answered: %v", err)
		}
	})
}

func TestGraphErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		header    http.Header
		body      string
		retry     time.Duration
		permanent bool
		alert     bool
		contains  string
	}{
		{"throughput 130429", 400, nil, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"Az"}}`, 5 * time.Second, false, false, "130429"},
		{"pair rate 131056", 400, nil, `{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","type":"OAuthException","code":131056}}`, 6 * time.Second, false, false, "131056"},
		{"spam 131048 with Retry-After", 400, http.Header{"Retry-After": {"120"}}, `{"error":{"message":"Spam rate limit hit","code":131048}}`, 2 * time.Minute, false, false, "131048"},
		{"waba 80007", 400, nil, `{"error":{"message":"rate limit","code":80007}}`, time.Minute, false, false, "80007"},
		{"token 190", 401, nil, `{"error":{"message":"Error validating access token: The session has been invalidated because the user changed their password. EAAGwatoken1aaaaaaaaaaaaaaaaaaaaaaaaaaa","type":"OAuthException","code":190,"error_subcode":460}}`, 0, true, true, "expired or invalid"},
		{"re-engagement 131047", 400, nil, `{"error":{"message":"Re-engagement message","code":131047}}`, 0, true, false, "window is closed"},
		{"bad param", 400, nil, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}`, 0, true, false, "Invalid parameter"},
		{"temporary 500", 500, nil, `{"error":{"message":"An unknown error occurred","code":1}}`, 0, false, false, "temporarily"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.deliver(t, "text.json")
			e.graph.reply = func(int, graphRequest) (int, http.Header, string) { return tc.status, tc.header, tc.body }
			_, err := e.ch.Send(context.Background(), out("o1", "hi"))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), token1) || strings.Contains(err.Error(), "EAAG") {
				t.Fatalf("error leaks the token: %v", err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("err %q does not mention %q", err, tc.contains)
			}
			var ra *channels.RetryAfterError
			if isRA := errors.As(err, &ra); isRA != (tc.retry > 0) || (isRA && ra.After != tc.retry) {
				t.Fatalf("err = %v, want retry after %v", err, tc.retry)
			}
			if channels.IsPermanent(err) != tc.permanent {
				t.Fatalf("permanent = %v: %v", channels.IsPermanent(err), err)
			}
			if (len(e.alerts.list) == 1) != tc.alert {
				t.Fatalf("alerts %v", e.alerts.list)
			}
			if tc.alert {
				if v := testutil.ToFloat64(e.ch.Graph.Metrics.Graph.WithLabelValues("whatsappcloud", phone1, meta.ResultTokenInvalid)); v != 1 {
					t.Fatalf("token_invalid metric = %v", v)
				}
				if strings.Contains(e.alerts.list[0], "EAAG") {
					t.Fatalf("alert leaks the token: %s", e.alerts.list[0])
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"absent", Config{}, ""},
		{"enabled ok", Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: "s", VerifyToken: "v"}, Accounts: []Account{{PhoneNumberID: "1", Token: "t"}}}, ""},
		{"enabled empty", Config{AppConfig: meta.AppConfig{Enabled: true}}, "app_secret: is required (set it from the environment, e.g. ${WHATSAPP_APP_SECRET})\nverify_token: is required\naccounts: at least one account is required when enabled"},
		{"template language", Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: "s", VerifyToken: "v"}, Template: Template{Name: "x"},
			Accounts: []Account{{PhoneNumberID: "1", Token: "t"}, {PhoneNumberID: "2", Token: "t", Template: &Template{Language: "ru"}}}},
			"template.language: is required with a template name (e.g. en_US)\naccounts[1].template.name: is required with a template language"},
		{"accounts", Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: "s", VerifyToken: "v"}, Accounts: []Account{{Token: "t"}, {PhoneNumberID: "a b"}}},
			"accounts[0].phone_number_id: is required\naccounts[1].phone_number_id: must not contain '{', '}', ':' or spaces\naccounts[1].token: is required (set it from the environment, e.g. ${WHATSAPP_TOKEN})"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.Defaults()
			got := ""
			if err := c.Validate(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// BenchmarkWebhookBatch: one signed delivery of 6 messages (3 entries × 2), parsed and made
// durable in real Redis, as Meta would send it (each iteration uses fresh wamids).
func BenchmarkWebhookBatch(b *testing.B) {
	rdb, prefix := redistest.New(b)
	keys := store.NewKeys(prefix)
	cfg := Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: testSecret, VerifyToken: testVerify},
		Accounts: []Account{{PhoneNumberID: phone1, Token: token1}, {PhoneNumberID: phone2, Token: token2}}}
	cfg.Defaults()
	clk := clock.NewFake(fixtureTime)
	ch, err := New(cfg, channels.Deps{Ingester: store.NewIngest(rdb, keys, clk, nil), Redis: rdb, Keys: keys, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	h := ch.Handler()
	raw, err := os.ReadFile(filepath.Join("testdata", "batch.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := bytes.ReplaceAll(raw, []byte(`"wamid.b`), []byte(fmt.Sprintf(`"wamid.%d.b`, i)))
		r := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		r.Header.Set(meta.SignatureHeader, meta.Sign(testSecret, body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	b.ReportMetric(float64(b.N*6)/b.Elapsed().Seconds(), "msgs/s")
}

// TestStaleReengagementFailure: Meta does not deliver webhooks in order. A failed status
// with error 131047 about a send older than the customer's latest message must not close
// the customer-service window, whichever of the two arrives first.
func TestStaleReengagementFailure(t *testing.T) {
	for _, order := range [][]string{
		{"text.json", "status_reengagement_stale.json"},
		{"status_reengagement_stale.json", "text.json"},
	} {
		t.Run(order[0]+" first", func(t *testing.T) {
			e := newEnv(t)
			for _, f := range order {
				e.deliver(t, f)
			}
			w, err := e.ch.Window.State(context.Background(), phone1, customer)
			if err != nil || !w.Known || w.Closed || !w.Last.Equal(fixtureTime) {
				t.Fatalf("window = %+v, %v; want open since the customer's message", w, err)
			}
			e.clk.Advance(10 * time.Minute)
			if _, err := e.ch.Send(context.Background(), out("o1", "Да, есть")); err != nil {
				t.Fatalf("reply to a customer who wrote 10 minutes ago refused: %v", err)
			}
			if n := len(e.graph.requests()); n != 1 {
				t.Fatalf("%d requests, want the reply", n)
			}
		})
	}
}

// TestReengagementFailureClosesWindowTruthfully: a 131047 failure newer than the customer's
// last message closes the window; the refusal says so (and does not claim the customer has
// not written); a late-delivered older message keeps it closed; a newer one reopens it.
func TestReengagementFailureClosesWindowTruthfully(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "text.json")     // customer at T
	e.deliver(t, "statuses.json") // 131047 at T+103 s
	e.clk.Advance(5 * time.Minute)
	_, err := e.ch.Send(context.Background(), out("o1", "Ответ"))
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "WhatsApp reported the window closed after the customer's last message, 5 minutes ago") ||
		strings.Contains(err.Error(), "has not written") {
		t.Fatalf("refusal = %v", err)
	}
	message := func(id string, at time.Time) {
		body := bytes.Replace(fixture(t, "text.json"), []byte(`"1732780800"`), []byte(fmt.Sprintf(`"%d"`, at.Unix())), 1)
		body = bytes.Replace(body, []byte("wamid.HBg"), []byte(id), 1)
		if w := e.post(t, body, meta.Sign(testSecret, body)); w.Code != 200 {
			t.Fatal(w.Code)
		}
	}
	message("wamid.LATE", fixtureTime.Add(50*time.Second)) // written before the failure, delivered after
	if w, _ := e.ch.Window.State(context.Background(), phone1, customer); !w.Closed || !w.Last.Equal(fixtureTime.Add(50*time.Second)) {
		t.Fatalf("after an older message: %+v, want still closed", w)
	}
	message("wamid.NEW", fixtureTime.Add(200*time.Second))
	if _, err := e.ch.Send(context.Background(), out("o2", "Ответ")); err != nil {
		t.Fatalf("after the customer wrote again: %v", err)
	}
}

func TestOutsideWindowNothingOnRecord(t *testing.T) {
	e := newEnv(t)
	_, err := e.ch.Send(context.Background(), out("o1", "Ответ"))
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "no message from the customer is on record in the last 8 days") {
		t.Fatalf("err = %v", err)
	}
}

// TestBusinessScopedSender: a sender identified only by from_user_id (a user with a
// username) is a lead with the user id as contact id; with a phone the phone stays the
// contact id and the user id is kept in meta.
func TestBusinessScopedSender(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "bsuid.json")
	got := e.inbound(t)
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}
	if in := got[0]; in.Kind != channels.KindMessage || in.ContactID != "RU.13491208655302741918" || in.Phone != "" ||
		in.DisplayName != "Анна" || in.Text != "Здравствуйте, хочу заказать диван" || in.Meta[MetaUserID] != "RU.13491208655302741918" ||
		in.Meta[MetaUsername] != "@anna_k" {
		t.Errorf("user id only: %+v", in)
	}
	if in := got[1]; in.ContactID != "16315551181" || in.Phone != "+16315551181" || in.DisplayName != "Kerry Fisher" ||
		in.Meta[MetaUserID] != "US.11815799212886844830" {
		t.Errorf("phone and user id: %+v", in)
	}
	// A reply to the user-id-only contact goes to "recipient" (Meta: "to" takes a phone number).
	if _, err := e.ch.Send(context.Background(), channels.Outbound{ID: "o1", Channel: channels.WhatsAppCloud, Account: phone1,
		ContactID: "RU.13491208655302741918", Kind: "reply", ManagerID: "m1", Text: "Здравствуйте!"}); err != nil {
		t.Fatal(err)
	}
	b := e.graph.requests()[0].Body
	if b["recipient"] != "RU.13491208655302741918" || b["to"] != nil || b["recipient_type"] != "individual" {
		t.Fatalf("send body %v", b)
	}
}

// TestRevokeAndEdit: a revoke marks an earlier message deleted (a "delete" item: never a
// lead); an edit updates the original message by original_message_id with the new text or
// caption.
func TestRevokeAndEdit(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "revoke_edit.json")
	got := e.inbound(t)
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	if in := got[0]; in.Kind != channels.KindDelete || in.MessageID != "wamid.revoke1" || in.Text != "" || len(in.Attachments) != 0 ||
		in.Meta["deleted_id"] != "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUVCMDdGRjg4QjE2RjhFOTMxNwA=" || in.Meta["unsupported"] != "" {
		t.Errorf("revoke: %+v", in)
	}
	if in := got[1]; in.Kind != channels.KindEdit || in.MessageID != "wamid.edit1" || in.Meta["edited_id"] != "wamid.text2" ||
		in.Text != "Есть ли диван «Осло» в сером цвете?" || in.Meta["unsupported"] != "" {
		t.Errorf("edit text: %+v", in)
	}
	if in := got[2]; in.Kind != channels.KindEdit || in.Meta["edited_id"] != "wamid.image2" || in.Text != "Вот такой, но серый" ||
		len(in.Attachments) != 1 || in.Attachments[0].Kind != "image" || in.Attachments[0].Ref != "1003383421387299" {
		t.Errorf("edit caption: %+v", in)
	}
	// Neither is a customer message for the service window.
	if _, ok, _ := e.ch.Window.Last(context.Background(), phone1, customer); ok {
		t.Error("revoke/edit opened the service window")
	}
}

// TestOtherInteractiveReplies: Flow answers are readable as "field: value" lines; a
// call-permission reply says what was answered; an interactive message carrying only an
// error is marked unsupported with the reason.
func TestOtherInteractiveReplies(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "interactive.json")
	got := e.inbound(t)
	if len(got) != 4 {
		t.Fatalf("%d entries, want 4", len(got))
	}
	want := []struct{ text, key, val string }{
		{"city: Москва\ndelivery: true\nname: Kerry Fisher\nseats: 3\nsofa_color: grey", "flow_token", "lead-form-7"},
		{"address: Tverskaya 1\ncity: Moscow\nin_pin_code: 400063\nname: Kerry Fisher\nphone_number: +16315551181", MetaInteractive, "nfm_reply"},
		{"Call permission: accepted", MetaCallPermission, "accept"},
		{"", "unsupported_reason", "Message type unknown (WhatsApp error 131051)"},
	}
	for i, w := range want {
		in := got[i]
		if in.Kind != channels.KindMessage || in.Text != w.text || in.Meta[w.key] != w.val {
			t.Errorf("%d (%s): text %q meta %v", i, in.MessageID, in.Text, in.Meta)
		}
		if (in.Meta["unsupported"] == "true") != (i == 3) {
			t.Errorf("%d: unsupported = %q", i, in.Meta["unsupported"])
		}
	}
	if got[0].Meta[MetaReplyTo] != "wamid.flow1" {
		t.Errorf("flow answer context: %v", got[0].Meta)
	}
}

// TestGroupMessages: a message from a WhatsApp group is ignored unless allow_groups is set;
// then the group is the contact (replies go to the group), the writer is kept in meta.
func TestGroupMessages(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "group.json")
	if got := e.inbound(t); len(got) != 0 {
		t.Fatalf("group message stored without allow_groups: %+v", got)
	}
	e = newEnv(t, func(c *Config) { c.AllowGroups = true })
	e.deliver(t, "group.json")
	got := e.inbound(t)
	const gid = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"
	if len(got) != 1 || got[0].ContactID != "group:"+gid || got[0].Phone != "" || got[0].Meta[MetaGroupID] != gid ||
		got[0].Meta[MetaParticipant] != "79035550101" || got[0].DisplayName != "Pavel" {
		t.Fatalf("allowed group: %+v", got)
	}
	if _, err := e.ch.Send(context.Background(), channels.Outbound{ID: "o1", Channel: channels.WhatsAppCloud, Account: phone1,
		ContactID: "group:" + gid, Kind: "reply", ManagerID: "m1", Text: "Здравствуйте!"}); err != nil {
		t.Fatal(err)
	}
	if b := e.graph.requests()[0].Body; b["recipient_type"] != "group" || b["to"] != gid {
		t.Fatalf("group send body %v", b)
	}
}

func TestReactionRemoved(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "reaction_removed.json")
	got := e.inbound(t)
	if len(got) != 1 || got[0].Kind != channels.KindReaction || got[0].Text != "(reaction removed)" ||
		got[0].Meta["removed"] != "true" || got[0].Meta[MetaReactedTo] != "wamid.out1" {
		t.Fatalf("got %+v", got)
	}
}

// TestWebhookLevelErrors: errors Meta reports for the whole app or account are logged at
// warning and counted, not dropped at debug level.
func TestWebhookLevelErrors(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "errors.json")
	if got := e.inbound(t); len(got) != 0 {
		t.Fatalf("%d entries", len(got))
	}
	if v := testutil.ToFloat64(e.ch.Webhook.Metrics.Errors.WithLabelValues(channels.WhatsAppCloud)); v != 1 {
		t.Fatalf("errors metric = %v, want 1", v)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "131000") || !strings.Contains(logs, "Unable to authenticate the app user") {
		t.Fatalf("logs:\n%s", logs)
	}
}
