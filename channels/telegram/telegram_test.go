package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

const (
	tokenShop  = "111111:shop-secret-token-AAAA"
	tokenHooks = "222222:hook-secret-token-BBBB"
	hookSecret = "wh-secret-0123456789abcdef"
)

type env struct {
	t    *testing.T
	srv  *telegramtest.Server
	rdb  *redis.Client
	keys store.Keys
	clk  *clock.Fake
	ing  channels.Ingester
	reg  *prometheus.Registry
	cfg  Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb, prefix := redistest.New(t)
	srv := telegramtest.New(t)
	keys := store.NewKeys(prefix)
	clk := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	cfg := Config{
		Enabled:     true,
		APIURL:      srv.URL,
		PerChatRate: 1000, // TestPerChatLimit checks the limiter

		Bots: []BotConfig{
			{Name: "shop", Token: tokenShop},
			{Name: "hooks", Token: tokenHooks, Mode: ModeWebhook, WebhookURL: "https://lidorub.example/webhooks/telegram/hooks", WebhookSecret: hookSecret},
		},
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, rdb: rdb, keys: keys, clk: clk, ing: store.NewIngest(rdb, keys, clk, nil), reg: prometheus.NewRegistry(), cfg: cfg}
}

// channel builds a Channel (a "process"); ing overrides the ingester when not nil.
func (e *env) channel(ing channels.Ingester) *Channel {
	e.t.Helper()
	if ing == nil {
		ing = e.ing
	}
	ch, err := New(e.cfg, channels.Deps{Ingester: ing, Redis: e.rdb, Keys: e.keys, Clock: e.clk,
		Log: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()})
	if err != nil {
		e.t.Fatal(err)
	}
	ch.Poller("shop").SetTimeout(0) // PollOnce returns at once when nothing is queued
	return ch
}

func (e *env) push(token string, fixtures ...string) {
	e.t.Helper()
	for _, f := range fixtures {
		e.srv.PushUpdate(token, fixture(e.t, f))
	}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stored returns the inbound items in the stream.
func (e *env) stored() []channels.Inbound { return channeltest.Stored(e.t, e.rdb, e.keys) }

func ids(ins []channels.Inbound) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.MessageID)
	}
	return out
}

func TestMapUpdate(t *testing.T) {
	sent := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	tests := []struct {
		fixture     string
		allowGroups bool
		want        *channels.Inbound // nil: ignored
	}{
		{fixture: "text.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:11", ContactID: "7001", DisplayName: "Olga Petrova", Text: "Hello, how much is a tour to Bali?",
			SentAt: sent(1700000000), Meta: map[string]string{"update_id": "500100", "username": "olga_p", "language": "ru", "user_id": "7001"}}},
		{fixture: "start.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7002:1", ContactID: "7002", DisplayName: "Ivan", Text: "/start", Source: "ig_spring_sale",
			SentAt: sent(1700000010), Meta: map[string]string{"update_id": "500101", "user_id": "7002", "start_payload": "ig_spring_sale"}}},
		{fixture: "photo.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:12", ContactID: "7001", DisplayName: "Olga", Text: "Like this hotel", SentAt: sent(1700000020),
			Attachments: []channels.Attachment{{Kind: "image", Ref: "AgAD-large", MIME: "image/jpeg", Size: 98765}},
			Meta:        map[string]string{"update_id": "500102", "user_id": "7001"}}},
		{fixture: "document.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:13", ContactID: "7001", DisplayName: "Olga", SentAt: sent(1700000030),
			Attachments: []channels.Attachment{{Kind: "document", Ref: "BQAD-doc", MIME: "application/pdf", Size: 204800, Name: "passport.pdf"}},
			Meta:        map[string]string{"update_id": "500103", "user_id": "7001"}}},
		{fixture: "voice.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:14", ContactID: "7001", DisplayName: "Olga", SentAt: sent(1700000040),
			Attachments: []channels.Attachment{{Kind: "voice", Ref: "AwAD-voice", MIME: "audio/ogg", Size: 9000}},
			Meta:        map[string]string{"update_id": "500104", "user_id": "7001"}}},
		{fixture: "video.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:15", ContactID: "7001", DisplayName: "Olga", Text: "the beach", SentAt: sent(1700000050),
			Attachments: []channels.Attachment{{Kind: "video", Ref: "BAAD-video", MIME: "video/mp4", Size: 3000000}},
			Meta:        map[string]string{"update_id": "500105", "user_id": "7001"}}},
		{fixture: "audio.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:16", ContactID: "7001", DisplayName: "Olga", SentAt: sent(1700000060),
			Attachments: []channels.Attachment{{Kind: "audio", Ref: "CQAD-audio", MIME: "audio/mpeg", Size: 4000000, Name: "song.mp3"}},
			Meta:        map[string]string{"update_id": "500106", "user_id": "7001"}}},
		{fixture: "sticker.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:17", ContactID: "7001", DisplayName: "Olga", SentAt: sent(1700000070),
			Attachments: []channels.Attachment{{Kind: "sticker", Ref: "CAAD-sticker", MIME: "image/webp", Size: 15000, Name: "👍"}},
			Meta:        map[string]string{"update_id": "500107", "user_id": "7001"}}},
		{fixture: "contact.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:18", ContactID: "7001", DisplayName: "Olga Petrova", Phone: "+79161234567", SentAt: sent(1700000080),
			Attachments: []channels.Attachment{{Kind: "contact", Ref: "+79161234567", Name: "Olga Petrova"}},
			Meta:        map[string]string{"update_id": "500108", "user_id": "7001"}}},
		{fixture: "contact_other.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:21", ContactID: "7001", DisplayName: "Olga Petrova", SentAt: sent(1700000100),
			Attachments: []channels.Attachment{{Kind: "contact", Ref: "+79037654321", Name: "Sergey Ivanov"}},
			Meta:        map[string]string{"update_id": "500111", "user_id": "7001"}}},
		{fixture: "contact_no_user.json", want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "7001:22", ContactID: "7001", DisplayName: "Olga Petrova", SentAt: sent(1700000110),
			Attachments: []channels.Attachment{{Kind: "contact", Ref: "(415) 555-2671", Name: "Front desk"}},
			Meta:        map[string]string{"update_id": "500112", "user_id": "7001"}}},
		{fixture: "edited.json", want: &channels.Inbound{Kind: channels.KindEdit, Channel: "telegram", Account: "shop",
			MessageID: "7001:11:e1700000300", ContactID: "7001", DisplayName: "Olga Petrova", Text: "Hello, how much is a tour to Bali for two?",
			SentAt: sent(1700000000), Meta: map[string]string{"update_id": "500109", "user_id": "7001", "edited_id": "7001:11"}}},
		{fixture: "group.json", want: nil},
		{fixture: "group.json", allowGroups: true, want: &channels.Inbound{Kind: channels.KindMessage, Channel: "telegram", Account: "shop",
			MessageID: "-100200300:19", ContactID: "-100200300", DisplayName: "Petr", Text: "anyone been to Bali?", SentAt: sent(1700000090),
			Meta: map[string]string{"update_id": "500110", "user_id": "7003", "chat_type": "supergroup", "chat_title": "Travel chat"}}},
		{fixture: "callback.json", want: nil},
	}
	for _, tc := range tests {
		name := strings.TrimSuffix(tc.fixture, ".json")
		if tc.allowGroups {
			name += "_allowed"
		}
		t.Run(name, func(t *testing.T) {
			u, _, err := decodeUpdate(fixture(t, tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, _ := mapUpdate("shop", tc.allowGroups, &u)
			if tc.want == nil {
				if ok {
					t.Fatalf("want ignored, got %+v", got)
				}
				return
			}
			if !ok {
				t.Fatal("update was ignored")
			}
			if !reflect.DeepEqual(got, *tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, *tc.want)
			}
		})
	}
}

func TestE164(t *testing.T) {
	for in, want := range map[string]string{
		"79161234567":      "+79161234567",
		"+7 916 123-45-67": "+79161234567",
		"+14155552671":     "+14155552671",
		"12":               "12",             // not a number: kept as it came
		"(415) 555-2671":   "(415) 555-2671", // national format, country unknown: kept as it came
		"8 916 123-45-67":  "8 916 123-45-67",
		"":                 "",
	} {
		if got := E164(in); got != want {
			t.Errorf("E164(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPollIngestsThenStoresOffset(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	ctx := context.Background()
	e.push(tokenShop, "text.json", "photo.json", "group.json")

	res, err := ch.Poller("shop").PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Leader || res.Updates != 3 || res.Offset != 500111 {
		t.Fatalf("result %+v, want leader, 3 updates, offset 500111", res)
	}
	if got := ids(e.stored()); !reflect.DeepEqual(got, []string{"7001:11", "7001:12"}) {
		t.Fatalf("stored %v (the group message must be ignored)", got)
	}
	if off, _ := e.rdb.Get(ctx, e.keys.Channel("telegram", "shop", "offset")).Int64(); off != 500111 {
		t.Fatalf("offset in Redis = %d", off)
	}
	// the next poll confirms the batch to Telegram
	if _, err := ch.Poller("shop").PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Pending(tokenShop); n != 0 {
		t.Fatalf("%d updates still pending at Telegram", n)
	}
	calls := e.srv.Calls("getUpdates")
	if last := calls[len(calls)-1].Params; last.Get("offset") != "500111" || !strings.Contains(last.Get("allowed_updates"), "callback_query") {
		t.Fatalf("getUpdates params %v", last)
	}
	if len(e.srv.Calls("deleteWebhook")) != 1 {
		t.Fatal("polling must delete a webhook once when it becomes the poller")
	}
}

// crashingIngester stores the item and then fails for one message id, like a process that
// dies after XADD but before storing the offset.
type crashingIngester struct {
	next   channels.Ingester
	failOn string
	failed bool
}

func (c *crashingIngester) Ingest(ctx context.Context, in channels.Inbound) (channels.IngestResult, error) {
	res, err := c.next.Ingest(ctx, in)
	if err == nil && in.MessageID == c.failOn && !c.failed {
		c.failed = true
		return res, errors.New("crash after enqueue")
	}
	return res, err
}

func TestCrashBeforeOffsetReReadsAndDedupes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.push(tokenShop, "text.json", "photo.json", "document.json")

	first := e.channel(&crashingIngester{next: e.ing, failOn: "7001:12"})
	if _, err := first.Poller("shop").PollOnce(ctx); err == nil {
		t.Fatal("want the crash error")
	}
	// text.json is handled, so the offset covers it; photo.json is stored but not confirmed
	if off, _ := e.rdb.Get(ctx, e.keys.Channel("telegram", "shop", "offset")).Int64(); off != 500101 {
		t.Fatalf("offset after the crash = %d, want 500101", off)
	}
	// a restarted process (the lease lapsed) reads photo.json again
	e.rdb.Del(ctx, e.keys.Lease("telegram:shop"))
	second := e.channel(nil)
	res, err := second.Poller("shop").PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates != 2 || res.Offset != 500104 {
		t.Fatalf("after restart %+v", res)
	}
	if got := ids(e.stored()); !reflect.DeepEqual(got, []string{"7001:11", "7001:12", "7001:13"}) {
		t.Fatalf("stream holds %v, want each message once", got)
	}
	if n := testutil.ToFloat64(second.m.updates.WithLabelValues("shop", resDuplicate)); n != 1 {
		t.Fatalf("duplicates counted %v, want 1", n)
	}
}

func TestMalformedUpdateSkipped(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	ctx := context.Background()
	e.push(tokenShop, "text.json", "malformed.json", "edited.json")
	e.srv.PushUpdate(tokenShop, []byte(`{"update_id": 500200, "message": [1,2,3]}`))
	e.srv.PushUpdate(tokenShop, []byte(`{"update_id": 500201, "message": {"message_id": 20, "chat": {"id": 7001, "type": "private"}, "date": 1700000400, "text": "still here?"}}`))

	res, err := ch.Poller("shop").PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Malformed != 2 || res.Updates != 3 || res.Offset != 500202 {
		t.Fatalf("result %+v, want 2 malformed skipped, 3 handled, offset 500202", res)
	}
	if got := ids(e.stored()); !reflect.DeepEqual(got, []string{"7001:11", "7001:11:e1700000300", "7001:20"}) {
		t.Fatalf("stored %v", got)
	}
	if n := testutil.ToFloat64(ch.m.updates.WithLabelValues("shop", resMalformed)); n != 2 {
		t.Fatalf("malformed counted %v", n)
	}
}

func TestLeaseOnePollerAndTakeover(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := e.channel(nil), e.channel(nil)
	e.push(tokenShop, "text.json")

	ra, err := a.Poller("shop").PollOnce(ctx)
	if err != nil || !ra.Leader || ra.Updates != 1 {
		t.Fatalf("a: %+v %v", ra, err)
	}
	before := len(e.srv.Calls("getUpdates"))
	rb, err := b.Poller("shop").PollOnce(ctx)
	if err != nil || rb.Leader {
		t.Fatalf("b must not poll while a holds the lease: %+v %v", rb, err)
	}
	if n := len(e.srv.Calls("getUpdates")); n != before {
		t.Fatalf("b called getUpdates %d times", n-before)
	}
	// a renews on every poll
	if ra, _ = a.Poller("shop").PollOnce(ctx); !ra.Leader {
		t.Fatal("a lost its lease")
	}
	// a dies: its lease lapses (expire it instead of sleeping)
	e.rdb.Del(ctx, e.keys.Lease("telegram:shop"))
	e.push(tokenShop, "photo.json")
	rb, err = b.Poller("shop").PollOnce(ctx)
	if err != nil || !rb.Leader || rb.Updates != 1 || rb.Offset != 500103 {
		t.Fatalf("b after takeover: %+v %v", rb, err)
	}
	if ra, _ = a.Poller("shop").PollOnce(ctx); ra.Leader {
		t.Fatal("a polls again although b took over")
	}
	if got := ids(e.stored()); !reflect.DeepEqual(got, []string{"7001:11", "7001:12"}) {
		t.Fatalf("stored %v", got)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	e := newEnv(t)
	e.cfg.PollTimeout = time.Second
	ch := e.channel(nil)
	e.push(tokenShop, "text.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ch.Run(ctx) }()
	deadline := time.After(5 * time.Second)
	// waiting for the loops to do real work (poll + ingest, register the webhook), not for a timer
	for len(e.stored()) == 0 || len(e.srv.Calls("setWebhook")) == 0 {
		select {
		case <-deadline:
			t.Fatal("Run did not ingest")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if len(e.srv.Calls("setWebhook")) == 0 {
		t.Fatal("Run must register the webhook of the webhook-mode bot")
	}
	if n, _ := e.rdb.Exists(context.Background(), e.keys.Lease("telegram:shop")).Result(); n != 0 {
		t.Fatal("the lease must be released on shutdown")
	}
}

func TestWebhook(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	mux := http.NewServeMux()
	ch.Register(mux)
	post := func(bot, secret string, body []byte) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/telegram/"+bot, strings.NewReader(string(body)))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	tests := []struct {
		name       string
		bot        string
		secret     string
		body       []byte
		wantStatus int
		wantStored []string
	}{
		{"no secret", "hooks", "", fixture(t, "text.json"), 401, nil},
		{"wrong secret", "hooks", "wh-secret-0123456789abcdeX", fixture(t, "text.json"), 401, nil},
		{"unknown bot", "nope", hookSecret, fixture(t, "text.json"), 404, nil},
		{"polling bot", "shop", hookSecret, fixture(t, "text.json"), 404, nil},
		{"not an update", "hooks", hookSecret, []byte(`<html>`), 400, nil},
		{"good", "hooks", hookSecret, fixture(t, "text.json"), 200, []string{"7001:11"}},
		{"redelivered", "hooks", hookSecret, fixture(t, "text.json"), 200, []string{"7001:11"}},
		{"malformed but from Telegram", "hooks", hookSecret, fixture(t, "malformed.json"), 200, []string{"7001:11"}},
		{"photo", "hooks", hookSecret, fixture(t, "photo.json"), 200, []string{"7001:11", "7001:12"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.bot, tc.secret, tc.body)
			if code != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", code, body, tc.wantStatus)
			}
			if code >= 400 {
				var v map[string]string
				if json.Unmarshal([]byte(body), &v) != nil || v["error"] == "" {
					t.Fatalf("error body is not JSON {\"error\":...}: %s", body)
				}
			}
			if got := ids(e.stored()); !reflect.DeepEqual(got, tc.wantStored) {
				t.Fatalf("stored %v, want %v", got, tc.wantStored)
			}
		})
	}
	if n := testutil.ToFloat64(ch.m.rejected.WithLabelValues("hooks", "secret")); n != 2 {
		t.Fatalf("rejected secrets counted %v", n)
	}
	for _, st := range e.stored() {
		if st.Account != "hooks" {
			t.Fatalf("account %q", st.Account)
		}
	}
}

func TestSetWebhookSendsSecretToken(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	if err := ch.SetWebhook(context.Background(), "hooks"); err != nil {
		t.Fatal(err)
	}
	calls := e.srv.Calls("setWebhook")
	if len(calls) != 1 {
		t.Fatalf("%d setWebhook calls", len(calls))
	}
	p := calls[0].Params
	if calls[0].Token != tokenHooks || p.Get("secret_token") != hookSecret || p.Get("url") != "https://lidorub.example/webhooks/telegram/hooks" {
		t.Fatalf("setWebhook params %v", p)
	}
}

func TestSend(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	ctx := context.Background()
	out := func(id, text string, atts ...channels.Attachment) channels.Outbound {
		return channels.Outbound{ID: id, Channel: "telegram", Account: "shop", ContactID: "7001", Kind: "reply", ManagerID: "anna", Text: text, Attachments: atts}
	}
	t.Run("text", func(t *testing.T) {
		e.srv.Reset()
		res, err := ch.Send(ctx, out("o1", "Hi Olga! Bali for two is 2400 EUR."))
		if err != nil {
			t.Fatal(err)
		}
		c := e.srv.Calls("sendMessage")
		if len(c) != 1 || c[0].Token != tokenShop || c[0].Params.Get("chat_id") != "7001" || c[0].Params.Get("text") != "Hi Olga! Bali for two is 2400 EUR." {
			t.Fatalf("calls %+v", c)
		}
		if !strings.HasPrefix(res.ChannelMessageID, "7001:") {
			t.Fatalf("channel message id %q", res.ChannelMessageID)
		}
		// a retry of the same outbound (crash before the ack) is not sent twice
		res2, err := ch.Send(ctx, out("o1", "Hi Olga! Bali for two is 2400 EUR."))
		if err != nil || res2 != res || len(e.srv.Calls("sendMessage")) != 1 {
			t.Fatalf("retry sent again: %v %v %d", res2, err, len(e.srv.Calls("sendMessage")))
		}
		// the marker keeps the message id only: no chat id (personal data) outside the conversation
		if v := e.rdb.Get(ctx, e.keys.Channel("telegram", "shop", "sent:o1")).Val(); strings.Contains(v, "7001") || v == "" {
			t.Fatalf("sent marker %q", v)
		}
		// a marker written by an earlier version ("<chat>:<message>") still answers
		if err := e.rdb.Set(ctx, e.keys.Channel("telegram", "shop", "sent:o-old"), "7001:55", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if res3, err := ch.Send(ctx, out("o-old", "x")); err != nil || res3.ChannelMessageID != "7001:55" {
			t.Fatalf("old marker: %v %v", res3, err)
		}
	})
	t.Run("photo and document by file_id", func(t *testing.T) {
		e.srv.Reset()
		if _, err := ch.Send(ctx, out("o2", "Our hotel", channels.Attachment{Kind: "image", Ref: "AgAD-hotel"})); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Send(ctx, out("o3", "", channels.Attachment{Kind: "document", Ref: "BQAD-offer"})); err != nil {
			t.Fatal(err)
		}
		ph, doc := e.srv.Calls("sendPhoto"), e.srv.Calls("sendDocument")
		if len(ph) != 1 || ph[0].Params.Get("photo") != "AgAD-hotel" || ph[0].Params.Get("caption") != "Our hotel" {
			t.Fatalf("sendPhoto %+v", ph)
		}
		if len(doc) != 1 || doc[0].Params.Get("document") != "BQAD-offer" {
			t.Fatalf("sendDocument %+v", doc)
		}
		if n := len(e.srv.Calls("sendMessage")); n != 0 {
			t.Fatalf("%d extra sendMessage", n)
		}
	})
	tests := []struct {
		name      string
		fail      telegramtest.Failure
		permanent bool
		retry     time.Duration
		wantText  string
	}{
		{"429", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 7", RetryAfter: 7}, false, 7 * time.Second, "rate limited"},
		{"403 blocked", telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"}, true, 0, "blocked"},
		{"400 chat not found", telegramtest.Failure{Code: 400, Description: "Bad Request: chat not found"}, true, 0, "chat not found"},
		{"400 other", telegramtest.Failure{Code: 400, Description: "Bad Request: wrong file identifier/HTTP URL specified"}, true, 0, "wrong file identifier"},
		{"500", telegramtest.Failure{Code: 500, Description: "Internal Server Error"}, false, 0, "temporary"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.FailNext("sendMessage", tc.fail)
			_, err := ch.Send(ctx, out("f"+string(rune('a'+i)), "hello"))
			if err == nil {
				t.Fatal("want an error")
			}
			if channels.IsPermanent(err) != tc.permanent {
				t.Fatalf("permanent=%v for %v", channels.IsPermanent(err), err)
			}
			var ra *channels.RetryAfterError
			if got := errors.As(err, &ra); got != (tc.retry > 0) || (got && ra.After != tc.retry) {
				t.Fatalf("retry-after %v for %v", ra, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) || strings.Contains(err.Error(), tokenShop) {
				t.Fatalf("error text %q", err)
			}
		})
	}
	t.Run("retry after 429 succeeds", func(t *testing.T) {
		e.srv.Reset()
		e.srv.FailNext("sendMessage", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
		if _, err := ch.Send(ctx, out("r1", "again")); err == nil {
			t.Fatal("want 429")
		}
		if _, err := ch.Send(ctx, out("r1", "again")); err != nil {
			t.Fatal(err)
		}
		if n := len(e.srv.Calls("sendMessage")); n != 2 {
			t.Fatalf("%d sendMessage calls", n)
		}
	})
	t.Run("unknown bot", func(t *testing.T) {
		o := out("u1", "x")
		o.Account = "nope"
		if _, err := ch.Send(ctx, o); !channels.IsPermanent(err) {
			t.Fatalf("want permanent, got %v", err)
		}
	})
}

func TestNetworkErrorsNeverShowTheToken(t *testing.T) {
	e := newEnv(t)
	e.srv.Close() // Telegram unreachable
	ch := e.channel(nil)
	_, err := ch.Send(context.Background(), channels.Outbound{ID: "n1", Account: "shop", ContactID: "7001", Text: "hi"})
	if err == nil || channels.IsPermanent(err) {
		t.Fatalf("want a temporary error, got %v", err)
	}
	if strings.Contains(err.Error(), tokenShop) || strings.Contains(err.Error(), "shop-secret") {
		t.Fatalf("token leaked: %v", err)
	}
	if _, err := ch.Poller("shop").PollOnce(context.Background()); err == nil || strings.Contains(err.Error(), "shop-secret") {
		t.Fatalf("poll error %v", err)
	}
}

func TestSplitText(t *testing.T) {
	long := strings.Repeat("a", 5000)
	parts := splitText(long, 4096)
	if len(parts) != 2 || len(parts[0]) != 4096 || len(parts[1]) != 904 {
		t.Fatalf("split into %d parts", len(parts))
	}
	if got := splitText("  short  ", 4096); !reflect.DeepEqual(got, []string{"short"}) {
		t.Fatalf("%q", got)
	}
}

func TestPerChatLimit(t *testing.T) {
	e := newEnv(t)
	e.cfg.PerChatRate, e.cfg.PerChatBurst = 1, 1
	ch := e.channel(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	send := func(id, chat string) error {
		_, err := ch.Send(ctx, channels.Outbound{ID: id, Account: "shop", ContactID: chat, Text: "hi"})
		return err
	}
	if err := send("l1", "7001"); err != nil {
		t.Fatal(err)
	}
	// a second message to the same chat would have to wait ~1s: more than ctx allows
	if err := send("l2", "7001"); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("want a per-chat rate limit error, got %v", err)
	}
	// another chat is not held back
	if err := send("l3", "7002"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.Calls("sendMessage")); n != 2 {
		t.Fatalf("%d messages reached Telegram, want 2", n)
	}
}

// A single attachment that cannot carry a caption (a sticker) must not swallow the text:
// the text goes as its own message.
func TestSendStickerKeepsText(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	ctx := context.Background()
	out := channels.Outbound{ID: "st1", Channel: "telegram", Account: "shop", ContactID: "7001", Kind: "reply",
		ManagerID: "anna", Text: "See you tomorrow at 10!", Attachments: []channels.Attachment{{Kind: "sticker", Ref: "CAAD-smile"}}}
	if _, err := ch.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	msgs, st := e.srv.Calls("sendMessage"), e.srv.Calls("sendSticker")
	if len(st) != 1 || st[0].Params.Get("sticker") != "CAAD-smile" {
		t.Fatalf("sendSticker %+v", st)
	}
	if len(msgs) != 1 || msgs[0].Params.Get("text") != "See you tomorrow at 10!" {
		t.Fatalf("the text was not sent: sendMessage %+v", msgs)
	}
}

// A message sent in several parts (text, then an attachment) that fails in the middle is
// retried from the first unsent part: the customer does not get the text twice.
func TestSendRetryResumesAfterSentParts(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	ctx := context.Background()
	long := strings.Repeat("Bali for two, 2400 EUR. ", 50) // > 1024 characters: not a caption
	out := channels.Outbound{ID: "mp1", Channel: "telegram", Account: "shop", ContactID: "7001", Kind: "reply",
		ManagerID: "anna", Text: long, Attachments: []channels.Attachment{{Kind: "image", Ref: "AgAD-hotel"}}}
	e.srv.FailNext("sendPhoto", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
	if _, err := ch.Send(ctx, out); err == nil {
		t.Fatal("want the 429 of sendPhoto")
	}
	res, err := ch.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.srv.Calls("sendMessage")
	if len(msgs) != 1 {
		t.Fatalf("the text was sent %d times", len(msgs))
	}
	if want := MessageID(7001, msgs[0].MessageID); res.ChannelMessageID != want {
		t.Fatalf("channel message id %q, want the first part's %q", res.ChannelMessageID, want)
	}
	if n := len(e.srv.Calls("sendPhoto")); n != 2 {
		t.Fatalf("%d sendPhoto calls, want 2 (failed, then retried)", n)
	}
}

// TestReplayedUpdateCounted: an update whose update_id is below the stored offset (Telegram
// replaying one already confirmed) is skipped, and counted as a duplicate.
func TestReplayedUpdateCounted(t *testing.T) {
	e := newEnv(t)
	ch := e.channel(nil)
	ctx := context.Background()
	e.push(tokenShop, "text.json", "photo.json")
	if _, err := ch.Poller("shop").PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	e.srv.ReplayUpdate(tokenShop, fixture(t, "text.json"))
	e.push(tokenShop, "document.json")
	res, err := ch.Poller("shop").PollOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates != 1 || res.Offset != 500104 {
		t.Fatalf("result %+v, want the new update only", res)
	}
	if got := ids(e.stored()); !reflect.DeepEqual(got, []string{"7001:11", "7001:12", "7001:13"}) {
		t.Fatalf("stored %v", got)
	}
	if n := testutil.ToFloat64(ch.m.updates.WithLabelValues("shop", resDuplicate)); n != 1 {
		t.Fatalf("duplicates counted %v, want the replay counted once", n)
	}
}
