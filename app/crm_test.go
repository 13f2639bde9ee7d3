package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

// Build wires the enabled CRM connectors against the real router: a handed-off lead's
// timeline entry creates the amoCRM lead from the router's conversation and transcript, the
// CRM id lands on the lead's timeline (stage crm), the inbound webhooks are routed and
// checked, the metrics exported, and erasing the lead removes its CRM mapping.
func TestBuildWiresCRMConnectors(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	amo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/api/v4/leads/complex" {
			fmt.Fprint(w, `[{"id":31,"contact_id":1,"company_id":null,"request_id":["0"],"merged":false}]`)
			return
		}
		fmt.Fprint(w, `{"_total_items":1,"_embedded":{"notes":[{"id":1}]}}`)
	}))
	defer amo.Close()
	cfg := &config.Config{}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = redistest.Prefix()
	cfg.Managers = []router.Manager{{ID: "anna", Capacity: 2}, {ID: "sue", Role: router.RoleSupervisor, Capacity: 1}}
	cfg.CRM.AmoCRM.Enabled, cfg.CRM.AmoCRM.BaseURL, cfg.CRM.AmoCRM.Token, cfg.CRM.AmoCRM.WebhookSecret = true, amo.URL, "tok", "0123456789abcdef"
	cfg.CRM.AmoCRM.Users = map[string]int64{"anna": 5}
	cfg.CRM.Bitrix24.Enabled, cfg.CRM.Bitrix24.WebhookURL, cfg.CRM.Bitrix24.ApplicationToken = true, "https://x.bitrix24.ru/rest/1/code/", "apptoken123"
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := Build(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if len(g.CRM) != 2 {
		t.Fatalf("%d CRM services, want 2", len(g.CRM))
	}
	if _, err := g.Ingest.Ingest(ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m1", ContactID: "c1",
		DisplayName: "Ivan", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if err := g.Router.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	rdb := g.Conn.Client
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: g.Conn.Keys.Core("timeline"),
		Values: []any{"c", "1", "s", router.StageHandedOff, "m", "anna", "x", "", "at", "1"}}).Err(); err != nil {
		t.Fatal(err)
	}
	amoSvc := g.CRM[0]
	if _, err := amoSvc.TimelineConsumer("-t").Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if id, _ := amoSvc.RecordID(ctx, 1); id != "31" {
		t.Fatalf("amoCRM id %q, paths %v", id, paths)
	}
	mu.Lock()
	if strings.Join(paths, ",") != "POST /api/v4/leads/complex,POST /api/v4/leads/31/notes" {
		t.Fatalf("calls %v", paths)
	}
	mu.Unlock()
	tl, _ := rdb.LRange(ctx, g.Conn.Keys.Core("conv", "1", "tl"), 0, -1).Result()
	if len(tl) == 0 || !strings.Contains(tl[len(tl)-1], `\"id\":\"31\"`) {
		t.Fatalf("timeline %v lacks the CRM id", tl)
	}

	for _, c := range []struct {
		path string
		form url.Values
		want int
	}{
		{"/webhooks/amocrm/0123456789abcdef", url.Values{"leads[status][0][id]": {"31"}, "leads[status][0][status_id]": {"142"}}, 200},
		{"/webhooks/amocrm/wrong", nil, 401},
		{"/webhooks/bitrix24", url.Values{"event": {"ONCRMDEALUPDATE"}, "data[FIELDS][ID]": {"1"}, "auth[application_token]": {"nope"}}, 401},
	} {
		r := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		g.Handler().ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("POST %s: %d %s, want %d", c.path, w.Code, w.Body, c.want)
		}
	}
	w := httptest.NewRecorder()
	g.Mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, s := range []string{`lidorub_crm_pushes_total{crm="amocrm"} 1`, `lidorub_crm_pushes_total{crm="bitrix24"} 0`,
		`lidorub_crm_webhooks_total{crm="amocrm",result="accepted"} 1`, `lidorub_crm_webhooks_total{crm="bitrix24",result="rejected"} 1`} {
		if !strings.Contains(w.Body.String(), s) {
			t.Errorf("metrics lack %s", s)
		}
	}

	if err := g.Router.Erase(ctx, 1, "sue"); err != nil {
		t.Fatal(err)
	}
	if err := g.Router.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if id, _ := amoSvc.RecordID(ctx, 1); id != "" {
		t.Fatalf("CRM mapping kept after erasure: %q", id)
	}
	if conv, _ := amoSvc.LeadOf(ctx, "31"); conv != 0 {
		t.Fatal("reverse CRM mapping kept after erasure")
	}
}
