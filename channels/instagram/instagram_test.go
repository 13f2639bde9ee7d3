package instagram

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
	acct1      = "17841400000000001"
	acct2      = "17841400000000002"
	token1     = "EAAGtesttoken1aaaaaaaaaaaaaaaaaaaaaaaa"
	token2     = "EAAGtesttoken2bbbbbbbbbbbbbbbbbbbbbbbb"
)

// fixtureTime is the timestamp of the customer messages in the fixtures.
var fixtureTime = time.UnixMilli(1732780800000).UTC()

// graphRequest is one request the fake Graph API received.
type graphRequest struct {
	Path string
	Auth string
	Body map[string]any
}

// fakeGraph speaks the Send API wire format. reply decides the answer to each request
// (nil: success with a fresh message id).
type fakeGraph struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []graphRequest
	reply func(n int, r graphRequest) (status int, header http.Header, body string)
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
		rid, _ := gr.Body["recipient"].(map[string]any)["id"].(string)
		_ = json.NewEncoder(w).Encode(map[string]string{"recipient_id": rid, "message_id": "m_out_" + string(rune('0'+n))})
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGraph) requests() []graphRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphRequest(nil), g.reqs...)
}

type alert struct{ channel, account, reason string }

type alerts struct {
	mu   sync.Mutex
	list []alert
}

func (a *alerts) Alert(_ context.Context, channel, account, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, alert{channel, account, reason})
	return nil
}

type env struct {
	ch     *Channel
	rdb    *redis.Client
	keys   store.Keys
	clk    *clock.Fake
	graph  *fakeGraph
	alerts *alerts
	reg    *prometheus.Registry
	srv    http.Handler
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	rdb, prefix := redistest.New(t)
	e := &env{rdb: rdb, keys: store.NewKeys(prefix), clk: clock.NewFake(fixtureTime.Add(5 * time.Second)),
		graph: newFakeGraph(t), alerts: &alerts{}, reg: prometheus.NewRegistry()}
	cfg := Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: testSecret, VerifyToken: testVerify, GraphURL: e.graph.srv.URL},
		Accounts: []Account{{ID: acct1, Token: token1}, {ID: acct2, Token: token2}}}
	for _, m := range mutate {
		m(&cfg)
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	ch, err := New(cfg, channels.Deps{Ingester: store.NewIngest(rdb, e.keys, e.clk, nil), Redis: rdb, Keys: e.keys, Clock: e.clk, Registerer: e.reg, Alerter: e.alerts})
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

// post delivers body to the webhook with the given signature header ("" = none).
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

// deliver posts a correctly signed fixture and expects 200.
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
		name, query string
		status      int
		body        string
	}{
		{"right token", "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", 200, "1158201444"},
		{"wrong token", "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444", 403, `{"error":"verification failed"}`},
		{"wrong mode", "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1", 403, `{"error":"verification failed"}`},
		{"no challenge", "hub.mode=subscribe&hub.verify_token=verify-me", 403, `{"error":"verification failed"}`},
		{"nothing", "", 403, `{"error":"verification failed"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, Path+"?"+tc.query, nil))
			if w.Code != tc.status || strings.TrimSpace(w.Body.String()) != tc.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
		})
	}
}

func TestSignatureRejected(t *testing.T) {
	e := newEnv(t)
	body := fixture(t, "dm_text.json")
	for _, tc := range []struct{ name, sig string }{
		{"missing", ""},
		{"other secret", meta.Sign("another-secret", body)},
		{"other body", meta.Sign(testSecret, append([]byte(" "), body...))},
		{"sha1 style", "sha1=" + strings.TrimPrefix(meta.Sign(testSecret, body), "sha256=")},
		{"not hex", "sha256=zzzz"},
		{"truncated", meta.Sign(testSecret, body)[:40]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.post(t, body, tc.sig)
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"error"`) {
				t.Fatalf("got %d %s, want 401 JSON", w.Code, w.Body)
			}
		})
	}
	if n := e.rdb.XLen(context.Background(), e.keys.Inbound()).Val(); n != 0 {
		t.Fatalf("%d entries in the inbound stream after bad signatures, want 0", n)
	}
	if v := testutil.ToFloat64(e.ch.Webhook.Metrics.Webhook.WithLabelValues("instagram", "bad_signature")); v != 6 {
		t.Fatalf("bad_signature metric = %v, want 6", v)
	}
}

// The signature covers the raw bytes as Meta sent them. Both fixtures are the same message,
// once as UTF-8 Cyrillic and emoji, once as \u escapes (with a surrogate pair): each verifies
// over its own bytes, and re-encoding the parsed JSON would not.
func TestSignatureOverRawNonASCIIBytes(t *testing.T) {
	const want = "Здравствуйте! Сколько стоит доставка в Казань? 🚚😊"
	for _, name := range []string{"dm_text.json", "dm_escaped.json"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			body := fixture(t, name)
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			remarshalled, _ := json.Marshal(v)
			if bytes.Equal(remarshalled, body) {
				t.Fatal("fixture should differ from its re-encoding")
			}
			if w := e.post(t, remarshalled, meta.Sign(testSecret, body)); w.Code != http.StatusUnauthorized {
				t.Fatalf("re-encoded body accepted with the raw body's signature: %d", w.Code)
			}
			e.deliver(t, name)
			got := e.inbound(t)
			if len(got) != 1 || got[0].Text != want || got[0].ContactID != "1029384756102938" || got[0].Account != acct1 {
				t.Fatalf("got %+v", got)
			}
			if !got[0].SentAt.Equal(fixtureTime) {
				t.Fatalf("sent at %v, want %v", got[0].SentAt, fixtureTime)
			}
		})
	}
}

func TestDuplicateDelivery(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "dm_text.json")
	e.deliver(t, "dm_text.json")
	e.deliver(t, "dm_escaped.json") // same mid, other encoding
	if got := e.inbound(t); len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
}

func TestBatch3Entries2Messages(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "batch_3x2.json")
	got := e.inbound(t)
	if len(got) != 6 {
		t.Fatalf("%d entries, want 6", len(got))
	}
	want := []struct{ mid, acct, contact string }{
		{"mid.batch.1.1", acct1, "1111111111111111"}, {"mid.batch.1.2", acct1, "1111111111111112"},
		{"mid.batch.2.1", acct2, "2222222222222221"}, {"mid.batch.2.2", acct2, "2222222222222222"},
		{"mid.batch.3.1", acct1, "1111111111111113"}, {"mid.batch.3.2", acct1, "1111111111111111"},
	}
	for i, w := range want {
		if got[i].MessageID != w.mid || got[i].Account != w.acct || got[i].ContactID != w.contact || got[i].Channel != channels.Instagram {
			t.Errorf("entry %d = %s/%s/%s, want %+v", i, got[i].Account, got[i].MessageID, got[i].ContactID, w)
		}
	}
	if a := got[3].Attachments; len(a) != 1 || a[0].Kind != "image" {
		t.Errorf("attachment = %+v", a)
	}
}

func TestNothingStored(t *testing.T) {
	for _, name := range []string{"echo.json", "unknown_account.json", "own_comment.json"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.deliver(t, name)
			if got := e.inbound(t); len(got) != 0 {
				t.Fatalf("%s created %d entries: %+v", name, len(got), got)
			}
		})
	}
}

func TestAttachments(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "attachments.json")
	got := e.inbound(t)
	want := []struct{ kind, ref string }{
		{"image", "https://cdn.example/img.jpg"}, {"video", "https://cdn.example/v.mp4"},
		{"audio", "https://cdn.example/a.mp4"}, {"document", "https://cdn.example/f.pdf"},
		{"share", "https://www.instagram.com/p/Cabc/"}, {"story_mention", "https://cdn.example/story.jpg"},
		{"story", "https://cdn.example/story2.jpg"}, {"reel", "17999999999999999"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		a := got[i].Attachments
		if len(a) != 1 || a[0].Kind != w.kind || a[0].Ref != w.ref || got[i].Kind != channels.KindMessage {
			t.Errorf("entry %d attachments %+v, want %+v", i, a, w)
		}
	}
	if got[6].Meta[MetaReplyToStory] != "18012345678901234" || got[6].Text != "Где купить?" {
		t.Errorf("story reply: %+v", got[6])
	}
}

func TestReactionReadEditPostback(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "events.json")
	got := e.inbound(t)
	if len(got) != 3 {
		t.Fatalf("%d entries, want reaction, read status and edit: %+v", len(got), got)
	}
	if r := got[0]; r.Kind != channels.KindReaction || r.Text != "❤️" || r.Meta["reacted_to"] != "mid.out.1" {
		t.Errorf("reaction: %+v", r)
	}
	if s := got[1]; s.Kind != channels.KindStatus || s.Meta["ref"] != "mid.out.1" || s.Meta["status"] != "read" {
		t.Errorf("read: %+v", s)
	}
	if ed := got[2]; ed.Kind != channels.KindEdit || ed.Meta["edited_id"] != "mid.att.storyreply" || ed.Text != "Где купить? В Москве" {
		t.Errorf("edit: %+v", ed)
	}
	// None of these opened the messaging window.
	if _, ok, _ := e.ch.Window.Last(context.Background(), acct1, "1029384756102938"); ok {
		t.Error("reaction/read/edit opened the messaging window")
	}
}

func TestChangesWrappedMessage(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "changes_messages.json")
	got := e.inbound(t)
	if len(got) != 1 || got[0].MessageID != "random_mid" || got[0].Text != "random_text" || got[0].ContactID != "12334" {
		t.Fatalf("got %+v", got)
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 2048 })
	body := []byte(`{"object":"instagram","entry":[],"pad":"` + strings.Repeat("x", 4096) + `"}`)
	if w := e.post(t, body, meta.Sign(testSecret, body)); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", w.Code)
	}
}

func TestNotAnInstagramPayload(t *testing.T) {
	e := newEnv(t)
	for _, body := range [][]byte{[]byte(`{"object":"whatsapp_business_account","entry":[]}`), []byte(`not json`)} {
		if w := e.post(t, body, meta.Sign(testSecret, body)); w.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", w.Code)
		}
	}
}

// When Redis cannot store the batch, the webhook must answer 500 so Meta retries.
func TestIngestFailureIs500(t *testing.T) {
	e := newEnv(t)
	broken := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = broken.Close() })
	ch, err := New(e.ch.cfg, channels.Deps{Ingester: store.NewIngest(broken, e.keys, e.clk, nil), Redis: broken, Keys: e.keys, Clock: e.clk, Alerter: e.alerts})
	if err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "batch_3x2.json")
	r := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	r.Header.Set(meta.SignatureHeader, meta.Sign(testSecret, body))
	w := httptest.NewRecorder()
	ch.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("status %d %s, want 500 JSON", w.Code, w.Body)
	}
}

func outbound(id, contact, text string, meta map[string]string) channels.Outbound {
	return channels.Outbound{ID: id, ConversationID: "1", Channel: channels.Instagram, Account: acct1,
		ContactID: contact, Kind: "reply", ManagerID: "m1", Text: text, Meta: meta}
}

// A comment lead: the first answer is the private reply to the comment; a second answer
// before the customer writes a DM is refused without trying a second private reply; after
// the customer's DM, answers go as Direct messages.
func TestCommentPrivateReplyThenDM(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deliver(t, "comment.json")
	e.deliver(t, "comment.json") // Meta retry
	got := e.inbound(t)
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1 comment lead", len(got))
	}
	lead := got[0]
	if lead.MessageID != "17865799348089039" || lead.ContactID != "5566778899001122" || lead.DisplayName != "anna_k" ||
		lead.Text != "Цена? 💸" || lead.Meta[MetaCommentID] != "17865799348089039" || lead.Meta[MetaMediaID] != "18023456789012345" ||
		lead.Meta[MetaMediaProductType] != "FEED" || lead.Meta[MetaOrigin] != "comment" {
		t.Fatalf("comment lead = %+v", lead)
	}

	convMeta := map[string]string{MetaCommentID: lead.Meta[MetaCommentID], MetaMediaID: lead.Meta[MetaMediaID]}
	res, err := e.ch.Send(ctx, outbound("out-1", lead.ContactID, "Здравствуйте, Анна! 2 990 ₽", convMeta))
	if err != nil {
		t.Fatalf("private reply: %v", err)
	}
	reqs := e.graph.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d graph requests, want 1", len(reqs))
	}
	pr := reqs[0]
	if pr.Path != "/v21.0/"+acct1+"/messages" || pr.Auth != "Bearer "+token1 {
		t.Fatalf("private reply went to %s with %q", pr.Path, pr.Auth)
	}
	if rc := pr.Body["recipient"].(map[string]any); rc["comment_id"] != "17865799348089039" || rc["id"] != nil {
		t.Fatalf("private reply recipient = %v", rc)
	}
	if pr.Body["message"].(map[string]any)["text"] != "Здравствуйте, Анна! 2 990 ₽" {
		t.Fatalf("private reply message = %v", pr.Body["message"])
	}
	if res.ChannelMessageID == "" {
		t.Fatal("no channel message id")
	}
	// A retry of the same outbound (e.g. after a lost response) may use the private reply again.
	if _, err := e.ch.Send(ctx, outbound("out-1", lead.ContactID, "Здравствуйте, Анна! 2 990 ₽", convMeta)); err != nil {
		t.Fatalf("retry of the private reply: %v", err)
	}
	e.graph.mu.Lock()
	e.graph.reqs = nil
	e.graph.mu.Unlock()

	// Second answer before any DM: refused, nothing sent.
	_, err = e.ch.Send(ctx, outbound("out-2", lead.ContactID, "И ещё…", convMeta))
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "private reply to this comment has already been used") {
		t.Fatalf("second answer: err = %v, want permanent 'already used'", err)
	}
	if n := len(e.graph.requests()); n != 0 {
		t.Fatalf("%d graph requests for a refused answer, want 0", n)
	}

	// The customer writes a Direct message an hour later; the next answer is a DM.
	e.clk.Set(fixtureTime.Add(time.Hour + 10*time.Second))
	e.deliver(t, "dm_after_comment.json")
	if _, err := e.ch.Send(ctx, outbound("out-3", lead.ContactID, "Да, есть!", convMeta)); err != nil {
		t.Fatalf("DM after the customer wrote: %v", err)
	}
	reqs = e.graph.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d graph requests, want 1 DM", len(reqs))
	}
	if rc := reqs[0].Body["recipient"].(map[string]any); rc["id"] != "5566778899001122" || rc["comment_id"] != nil {
		t.Fatalf("DM recipient = %v", rc)
	}
	if reqs[0].Body["messaging_type"] != "RESPONSE" || reqs[0].Body["tag"] != nil {
		t.Fatalf("DM messaging_type = %v tag = %v", reqs[0].Body["messaging_type"], reqs[0].Body["tag"])
	}
}

func TestPrivateReplyReleasedOnPermanentFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deliver(t, "comment.json")
	e.graph.reply = func(n int, _ graphRequest) (int, http.Header, string) {
		if n == 1 {
			return 400, nil, `{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"A1"}}`
		}
		return 0, nil, ""
	}
	cm := map[string]string{MetaCommentID: "17865799348089039"}
	if _, err := e.ch.Send(ctx, outbound("out-1", "5566778899001122", "x", cm)); !channels.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	// The private reply was not used: the next answer may take it.
	if _, err := e.ch.Send(ctx, outbound("out-2", "5566778899001122", "y", cm)); err != nil {
		t.Fatalf("second try: %v", err)
	}
	if rc := e.graph.requests()[1].Body["recipient"].(map[string]any); rc["comment_id"] != "17865799348089039" {
		t.Fatalf("recipient = %v", rc)
	}
}

func TestPrivateReplyExpiresAfter7Days(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "comment.json")
	ttl := e.rdb.PTTL(context.Background(), e.ch.privateReplyKey(acct1, "17865799348089039")).Val()
	if ttl <= 7*24*time.Hour-time.Minute || ttl > 7*24*time.Hour {
		t.Fatalf("private reply availability TTL = %v, want about 7 days", ttl)
	}
}

func TestMessagingWindow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		humanAgent bool
		after      time.Duration
		wantErr    string // "" = sent
		wantTag    string
	}{
		{"inside 24h", false, 23 * time.Hour, "", ""},
		{"outside 24h", false, 25 * time.Hour, "outside the 24-hour messaging window", ""},
		{"human agent day 3", true, 72 * time.Hour, "", "HUMAN_AGENT"},
		{"human agent day 8", true, 8 * 24 * time.Hour, "outside the 7-day (human agent) messaging window", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.HumanAgent = tc.humanAgent })
			e.deliver(t, "dm_text.json")
			e.clk.Set(fixtureTime.Add(tc.after))
			_, err := e.ch.Send(context.Background(), outbound("o", "1029384756102938", "Ответ", nil))
			reqs := e.graph.requests()
			if tc.wantErr != "" {
				if !channels.IsPermanent(err) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want permanent %q", err, tc.wantErr)
				}
				if len(reqs) != 0 {
					t.Fatalf("%d requests for a refused reply", len(reqs))
				}
				return
			}
			if err != nil || len(reqs) != 1 {
				t.Fatalf("err = %v, %d requests", err, len(reqs))
			}
			if tc.wantTag != "" && (reqs[0].Body["tag"] != tc.wantTag || reqs[0].Body["messaging_type"] != "MESSAGE_TAG") {
				t.Fatalf("tag = %v, messaging_type = %v", reqs[0].Body["tag"], reqs[0].Body["messaging_type"])
			}
		})
	}
}

func TestNoDMNeverWrote(t *testing.T) {
	e := newEnv(t)
	_, err := e.ch.Send(context.Background(), outbound("o", "999", "hi", nil))
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "outside the 24-hour messaging window") {
		t.Fatalf("err = %v", err)
	}
}

func TestLongTextSplitAndResumed(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "dm_text.json")
	text := strings.Repeat("Длинный ответ менеджера. ", 100) // 2 500 characters, 4 600 bytes
	fail := true
	e.graph.reply = func(n int, _ graphRequest) (int, http.Header, string) {
		if n == 3 && fail {
			fail = false
			return 500, nil, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","code":2}}`
		}
		return 0, nil, ""
	}
	ctx := context.Background()
	out := outbound("long-1", "1029384756102938", text, nil)
	_, err := e.ch.Send(ctx, out)
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("first attempt: err = %v, want temporary", err)
	}
	res, err := e.ch.Send(ctx, out)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	reqs := e.graph.requests()
	var parts []string
	for i, r := range reqs {
		if i == 2 {
			continue // the failed attempt
		}
		p := r.Body["message"].(map[string]any)["text"].(string)
		if len(p) > MaxTextBytes {
			t.Errorf("part %d has %d bytes", i, len(p))
		}
		parts = append(parts, p)
	}
	if strings.Join(parts, "") != text {
		t.Fatalf("parts do not add up to the text (%d parts)", len(parts))
	}
	// 4 600 bytes in parts of at most 1 000: 5 parts; the 3rd failed once: 6 requests.
	if len(reqs) != 6 {
		t.Fatalf("%d requests, want 6 (5 parts, one retried)", len(reqs))
	}
	if res.ChannelMessageID != "m_out_1" {
		t.Fatalf("channel message id %q, want the first part's", res.ChannelMessageID)
	}
}

func TestGraphErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		retry     time.Duration // >0: want RetryAfterError
		permanent bool
		alert     bool
	}{
		{"rate limit 4", 400, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4}}`, time.Minute, false, false},
		{"rate limit 613", 400, `{"error":{"message":"Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}`, time.Minute, false, false},
		{"http 429 with Retry-After", 429, `{"error":{"message":"slow down","code":80002}}`, 30 * time.Second, false, false},
		{"token expired", 401, `{"error":{"message":"Error validating access token: Session has expired. Token EAAGtesttoken1aaaaaaaaaaaaaaaaaaaaaaaa","type":"OAuthException","code":190,"error_subcode":463}}`, 0, true, true},
		{"window", 400, `{"error":{"message":"This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278}}`, 0, true, false},
		{"server error", 503, `oops`, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.deliver(t, "dm_text.json")
			var h http.Header
			if tc.status == 429 {
				h = http.Header{"Retry-After": {"30"}}
			}
			e.graph.reply = func(int, graphRequest) (int, http.Header, string) { return tc.status, h, tc.body }
			_, err := e.ch.Send(context.Background(), outbound("o", "1029384756102938", "hi", nil))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), token1) || strings.Contains(err.Error(), "EAAG") {
				t.Fatalf("error leaks the token: %v", err)
			}
			var ra *channels.RetryAfterError
			if isRA := errors.As(err, &ra); isRA != (tc.retry > 0) || (isRA && ra.After != tc.retry) {
				t.Fatalf("err = %v (%T), want retry after %v", err, err, tc.retry)
			}
			if channels.IsPermanent(err) != tc.permanent {
				t.Fatalf("permanent = %v, want %v: %v", channels.IsPermanent(err), tc.permanent, err)
			}
			if got := len(e.alerts.list); (got == 1) != tc.alert {
				t.Fatalf("%d alerts, want alert=%v", got, tc.alert)
			}
			if tc.alert {
				a := e.alerts.list[0]
				if a.channel != "instagram" || a.account != acct1 || strings.Contains(a.reason, token1) {
					t.Fatalf("alert = %+v", a)
				}
				if v := testutil.ToFloat64(e.ch.Graph.Metrics.Graph.WithLabelValues("instagram", acct1, meta.ResultTokenInvalid)); v != 1 {
					t.Fatalf("token_invalid metric = %v", v)
				}
				// Repeated failures within the hour are not alerted again.
				_, _ = e.ch.Send(context.Background(), outbound("o2", "1029384756102938", "hi", nil))
				if len(e.alerts.list) != 1 {
					t.Fatalf("%d alerts after a repeat, want 1", len(e.alerts.list))
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
		{"disabled with junk", Config{AppConfig: meta.AppConfig{Enabled: false, GraphURL: "::"}}, ""},
		{"enabled empty", Config{AppConfig: meta.AppConfig{Enabled: true}}, "app_secret: is required (set it from the environment, e.g. ${INSTAGRAM_APP_SECRET})\n" +
			"verify_token: is required\naccounts: at least one account is required when enabled"},
		{"account errors", Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: "s", VerifyToken: "v"}, Accounts: []Account{{ID: "1", Token: "t"}, {ID: "1"}, {Token: "x"}}},
			"accounts[1].id: duplicate account id \"1\"\naccounts[1].token: is required (set it from the environment, e.g. ${INSTAGRAM_TOKEN})\n" +
				"accounts[2].id: is required (the Instagram professional account id)"},
		{"bad graph", Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: "s", VerifyToken: "v", GraphURL: "ftp://x", GraphVersion: "21"}, Accounts: []Account{{ID: "1", Token: "t"}}},
			"graph_url: must be an http(s) URL\ngraph_version: must look like v21.0 (got \"21\")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.Defaults()
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Automatic messages (the acknowledgement) do not spend a comment's private reply unless
// auto_private_reply is set.
func TestAutomaticMessageAndPrivateReply(t *testing.T) {
	for _, auto := range []bool{false, true} {
		t.Run(fmt.Sprintf("auto_private_reply=%v", auto), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.AutoPrivateReply = auto })
			e.deliver(t, "comment.json")
			ack := outbound("c1-auto_ack", "5566778899001122", "Спасибо! Менеджер ответит в течение минуты.", map[string]string{MetaCommentID: "17865799348089039"})
			ack.Kind, ack.ManagerID = "auto_ack", ""
			_, err := e.ch.Send(context.Background(), ack)
			reqs := e.graph.requests()
			if !auto {
				if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "kept for the manager's answer") || len(reqs) != 0 {
					t.Fatalf("err = %v, %d requests", err, len(reqs))
				}
				return
			}
			if err != nil || len(reqs) != 1 || reqs[0].Body["recipient"].(map[string]any)["comment_id"] != "17865799348089039" {
				t.Fatalf("err = %v, requests %+v", err, reqs)
			}
		})
	}
}

// TestIceBreakerPostbackIsALead: tapping an ice breaker (or Get Started) is the customer
// opening the chat: it becomes a lead whose text is the question tapped, and it opens the
// messaging window.
func TestIceBreakerPostbackIsALead(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "icebreaker.json")
	got := e.inbound(t)
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2 leads: %+v", len(got), got)
	}
	want := []struct{ contact, id, text, payload string }{
		{"1029384756109999", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAx", "Сколько стоит доставка в Казань?", "DELIVERY_PRICE"},
		{"1029384756108888", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAy", "Get Started", "GET_STARTED"},
	}
	for i, w := range want {
		in := got[i]
		if in.Kind != channels.KindMessage || in.ContactID != w.contact || in.MessageID != w.id || in.Text != w.text ||
			in.Meta[MetaPostbackPayload] != w.payload || in.Meta[MetaOrigin] != "direct" {
			t.Errorf("%d: %+v", i, in)
		}
		if _, ok, _ := e.ch.Window.Last(context.Background(), acct1, w.contact); !ok {
			t.Errorf("%d: the postback did not open the messaging window", i)
		}
	}
}
