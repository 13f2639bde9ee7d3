package webchat_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

// TestSpeedToLeadEndsAtDelivery: in the wired gateway (fake clock, router driven by Settle)
// a manager's reply to a visitor who is away waits in their outbox; speed-to-lead ends when
// the visitor's browser fetches it, not when it was written.
func TestSpeedToLeadEndsAtDelivery(t *testing.T) {
	const shop = "https://shop.example"
	ctx := context.Background()
	_, prefix := redistest.New(t)
	cfg := &config.Config{InstanceID: "stltest", Managers: []router.Manager{{ID: "anna", Name: "Anna", Token: annaToken}}}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = prefix
	cfg.Channels.WebChat.Enabled = true
	cfg.Channels.WebChat.Secret = "gateway-test-secret-0123456789abcdef"
	cfg.Channels.WebChat.AllowedOrigins = []string{shop}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	g, err := app.Build(ctx, cfg, slog.New(slog.DiscardHandler), clk)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	settle := func() {
		t.Helper()
		if err := g.Router.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	call := func(method, path, auth, body string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Origin", shop)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
			}
		}
		return res.StatusCode
	}
	speed := func() (count, sum string) {
		t.Helper()
		res, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, `lidorub_speed_to_lead_seconds_count{channel="webchat"} `); ok {
				count = v
			}
			if v, ok := strings.CutPrefix(l, `lidorub_speed_to_lead_seconds_sum{channel="webchat"} `); ok {
				sum = v
			}
		}
		return count, sum
	}

	if code := call("PUT", "/api/v1/managers/anna/status", annaToken, `{"online": true}`, nil); code != 200 {
		t.Fatalf("online: %d", code)
	}
	var sess struct{ Token string }
	call("POST", "/webchat/v1/session", "", "", &sess)
	if code := call("POST", "/webchat/v1/messages", sess.Token, `{"id":"m1","text":"Is the green sofa available?","consent":true}`, nil); code != 202 {
		t.Fatalf("message: %d", code)
	}
	settle()
	var o struct{ Offers []router.Conversation }
	call("GET", "/api/v1/managers/anna/conversations", annaToken, "", &o)
	if len(o.Offers) != 1 || o.Offers[0].Channel != "webchat" {
		t.Fatalf("offers %+v", o)
	}
	id := strconv.FormatInt(o.Offers[0].ID, 10)
	call("POST", "/api/v1/conversations/"+id+"/accept", annaToken, "", nil)
	clk.Advance(40 * time.Second)
	if code := call("POST", "/api/v1/conversations/"+id+"/messages", annaToken, `{"text":"Yes, in stock."}`, nil); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	settle()
	// The reply is in the visitor's outbox; the visitor is away.
	if c, _ := speed(); c != "0" {
		t.Fatalf("speed-to-lead counted before the visitor got the reply: count %s", c)
	}
	var conv struct{ Conversation router.Conversation }
	call("GET", "/api/v1/conversations/"+id, annaToken, "", &conv)
	if !conv.Conversation.Replied || !conv.Conversation.FirstReplyAt.IsZero() {
		t.Fatalf("before delivery: %+v", conv.Conversation)
	}

	// 20 s later the visitor's browser fetches it.
	clk.Advance(20 * time.Second)
	var polled struct{ Events []map[string]any }
	call("GET", "/webchat/v1/poll?wait=0", sess.Token, "", &polled)
	if len(polled.Events) != 3 { // the message, the auto-acknowledgement, the reply
		t.Fatalf("polled %v", polled.Events)
	}
	settle()
	if c, s := speed(); c != "1" || s != "60" {
		t.Fatalf("speed-to-lead count %s sum %s, want 1 and 60", c, s)
	}
	call("GET", "/api/v1/conversations/"+id, annaToken, "", &conv)
	if d := conv.Conversation.FirstReplyAt.Sub(conv.Conversation.FirstInboundAt); d != time.Minute {
		t.Fatalf("first reply %v after the first message, want 1m (%+v)", d, conv.Conversation)
	}
	// Fetching it again changes nothing.
	call("GET", "/webchat/v1/poll?wait=0", sess.Token, "", nil)
	settle()
	if c, _ := speed(); c != "1" {
		t.Fatalf("count %s after a second fetch", c)
	}
}
