package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/webhooks"
)

const (
	whSupervisorToken = "sue-webhooks-token-5d1e"
	whSecret          = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// TestWebhooksThroughTheGateway: the gateway built from a config with a webhooks section
// delivers a timeline event of a real lead (read through the router) signed to the
// endpoint; an event of a lead erased before its delivery is dropped unsent; the replay API
// is for supervisors; the metrics are exposed.
func TestWebhooksThroughTheGateway(t *testing.T) {
	var mu sync.Mutex
	got := map[string]webhooks.Payload{} // webhook-id -> body
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		wh, _ := standardwebhooks.NewWebhook(whSecret)
		if err := wh.VerifyIgnoringTimestamp(b, r.Header); err != nil { // the gateway runs on a fake clock
			t.Errorf("signature: %v", err)
		}
		var p webhooks.Payload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("body: %v", err)
		}
		mu.Lock()
		got[r.Header.Get("webhook-id")] = p
		mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	rdb, prefix := redistest.New(t)
	doc := fmt.Sprintf(`
instance_id: whtest
log:
  level: error
http:
  listen: "127.0.0.1:0"
redis:
  url: %s
  prefix: %s
managers:
  - id: anna
    token: %s
  - id: sue
    role: supervisor
    token: %s
channels:
  form:
    rate_per_minute: -1
webhooks:
  endpoints:
    - id: crm
      url: %s
      secret: ${WH_SECRET}
`, redistest.URL(t), prefix, annaToken, whSupervisorToken, rc.URL)
	cfg, err := config.Parse([]byte(doc), func(k string) (string, bool) {
		if k == "WH_SECRET" {
			return whSecret, true
		}
		return "", false
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tg := newTestGateway(t, cfg)
	if tg.g.Webhooks == nil {
		t.Fatal("webhooks not built")
	}
	tg.online("anna", annaToken)
	tg.formLead(leadJSON)
	tg.settle()
	o := tg.offers("anna", annaToken)
	if len(o.Offers) != 1 {
		t.Fatalf("offers %+v", o)
	}
	conv := o.Offers[0].ID
	// The timeline entry in the router's shape (lua/lib.lua timeline()).
	xadd := func(stage, mgr, x string) string {
		id, err := rdb.XAdd(tg.ctx, &redis.XAddArgs{Stream: router.TimelineStream(tg.g.Conn.Keys), Values: []any{
			"c", strconv.FormatInt(conv, 10), "s", stage, "m", mgr, "x", x,
			"at", strconv.FormatInt(tg.clock.Now().UnixMilli(), 10)}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return "msg_" + id
	}
	step := func() {
		t.Helper()
		if _, err := tg.g.Webhooks.Poll(tg.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.g.Webhooks.Deliver(tg.ctx); err != nil {
			t.Fatal(err)
		}
	}
	qualified := xadd(router.StageQualified, "anna", `{"level":"hot"}`)
	step()
	mu.Lock()
	p, ok := got[qualified]
	mu.Unlock()
	if !ok {
		t.Fatalf("lead.qualified not delivered; got %v", got)
	}
	if p.Type != webhooks.LeadQualified || p.Data.ID != conv || p.Data.Channel != "form" || p.Data.Name != "Ivan Petrov" ||
		p.Data.Phone != "+79161234567" || p.Data.Email != "ivan@example.com" || p.Data.Source != "winter" || p.Data.Manager != "anna" {
		t.Errorf("payload %+v", p)
	}

	// Erased before its delivery: dropped, nothing sent.
	won := xadd(router.StageWon, "sam", `{"amount":"5000","currency":"RUB"}`)
	if _, err := tg.g.Webhooks.Poll(tg.ctx); err != nil {
		t.Fatal(err)
	}
	tg.must(http.StatusNoContent, "DELETE", "/api/v1/conversations/"+strconv.FormatInt(conv, 10), whSupervisorToken, "", "", nil)
	tg.settle()
	step()
	mu.Lock()
	_, sent := got[won]
	mu.Unlock()
	if sent {
		t.Error("an erased lead's event was delivered")
	}

	tg.must(http.StatusForbidden, "POST", "/api/v1/webhooks/crm/replay", annaToken, "", "", nil)
	var ans struct{ Replayed int }
	tg.must(http.StatusOK, "POST", "/api/v1/webhooks/crm/replay", whSupervisorToken, "", "", &ans)
	// At least: once the router writes its own timeline entries (created, ...) they are
	// delivered (or dropped) too.
	m := tg.scrape()
	for series, min := range map[string]float64{
		`lidorub_webhook_deliveries_total{endpoint="crm"}`:  1,
		`lidorub_webhook_dropped_total{endpoint="crm"}`:     1,
		`lidorub_webhook_lag_seconds_count{endpoint="crm"}`: 1,
	} {
		if v, ok := m[series]; !ok || v < min {
			t.Errorf("%s = %v, want at least %v", series, v, min)
		}
	}
	checkMetrics(t, m, map[string]float64{
		`lidorub_webhook_failures_total{endpoint="crm",reason="5xx"}`:  0,
		`lidorub_webhook_outbox_depth{endpoint="crm",queue="pending"}`: 0,
		`lidorub_webhook_outbox_depth{endpoint="crm",queue="dead"}`:    0,
		`lidorub_webhook_endpoint_disabled{endpoint="crm"}`:            0,
		`lidorub_webhook_retries_total{endpoint="crm"}`:                0,
		`lidorub_webhook_dead_letters_total{endpoint="crm"}`:           0,
	})
}
