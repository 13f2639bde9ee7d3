package app

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels/calls"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/router"
)

const callsSecret = "calls-webhook-secret-5d1c"

// postCall sends one generic call event, signed, and returns the HTTP status.
func (tg *testGateway) postCall(body string) int {
	tg.t.Helper()
	ts := tg.clock.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, tg.srv.URL+calls.GenericPath, bytes.NewReader([]byte(body)))
	if err != nil {
		tg.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(calls.GenericTimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(calls.GenericSignatureHeader, calls.SignGeneric(callsSecret, ts, []byte(body)))
	res, err := tg.srv.Client().Do(req)
	if err != nil {
		tg.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// genericCall is a generic call event around t0 (offsets in seconds; answered < 0: not answered).
func genericCall(id, dir, ext, disposition string, started, answered, ended int) string {
	at := func(s int) string { return t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339) }
	from, to := "+7 916 123-45-67", "+74957654321"
	if dir == "outbound" {
		from, to = to, from
	}
	ans := "null"
	if answered >= 0 {
		ans = strconv.Quote(at(answered))
	}
	return `{"call_id":"` + id + `","direction":"` + dir + `","from":"` + from + `","to":"` + to + `","extension":"` + ext +
		`","started_at":"` + at(started) + `","answered_at":` + ans + `,"ended_at":"` + at(ended) + `","disposition":"` + disposition + `"}`
}

// The calls channel through the whole gateway: a missed call is a callback lead offered to
// anna at once; boris's busy callback is an attempt; his connected callback ends
// speed-to-lead (counted on /metrics) and takes the lead. No phone number reaches the logs.
func TestScenarioMissedCallCallback(t *testing.T) {
	var logs testlog.Buffer
	cfg := testConfig(t, "")
	cfg.Channels.Calls = calls.Config{Enabled: true, Generic: calls.GenericConfig{Enabled: true, Secret: callsSecret,
		Managers: calls.Managers{"101": "anna", "102": "boris"}}}
	cfg.Channels.Calls.Defaults()
	if err := cfg.Channels.Calls.Validate(); err != nil {
		t.Fatal(err)
	}
	tg := newTestGatewayLog(t, cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer func() {
		for _, s := range []string{"9161234567", "123-45-67", callsSecret} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("the logs contain %q", s)
			}
		}
	}()
	tg.online("anna", annaToken)

	if code := tg.postCall(genericCall("c1", "inbound", "", "no_answer", -30, -1, 0)); code != 200 {
		t.Fatalf("missed call: %d", code)
	}
	tg.settle()
	o := tg.offers("anna", annaToken)
	if len(o.Offers) != 1 || o.Offers[0].Channel != calls.Name || o.Offers[0].Phone != "+79161234567" || o.Offers[0].Priority != calls.DefaultMissedBoost {
		t.Fatalf("anna's offers %+v, want the callback lead", o)
	}
	id := strconv.FormatInt(o.Offers[0].ID, 10)

	tg.clock.Advance(20 * time.Second)
	if code := tg.postCall(genericCall("c2", "outbound", "102", "busy", 10, -1, 15)); code != 200 {
		t.Fatalf("busy callback: %d", code)
	}
	tg.settle()
	var got struct{ Conversation router.Conversation }
	tg.must(200, "GET", "/api/v1/conversations/"+id, annaToken, "", "", &got)
	if conv := got.Conversation; conv.Replied || conv.OfferTo != "anna" || conv.State != router.StateOffered {
		t.Fatalf("after a busy callback: %+v", got.Conversation)
	}

	tg.clock.Advance(20 * time.Second)
	if code := tg.postCall(genericCall("c3", "outbound", "102", "answered", 30, 36, 40)); code != 200 {
		t.Fatalf("connected callback: %d", code)
	}
	tg.settle()
	m := tg.scrape()
	checkMetrics(t, m, map[string]float64{
		`lidorub_calls_total{outcome="missed",provider="generic"}`:           1,
		`lidorub_calls_total{outcome="out_attempt",provider="generic"}`:      1,
		`lidorub_calls_total{outcome="out_connected",provider="generic"}`:    1,
		`lidorub_calls_webhooks_total{provider="generic",result="forged"}`:   0,
		`lidorub_calls_webhooks_total{provider="zadarma",result="accepted"}`: 0,
		`lidorub_speed_to_lead_seconds_count{channel="calls"}`:               1,
		`lidorub_speed_to_lead_seconds_sum{channel="calls"}`:                 66, // rang at -30 s, connected at +36 s
		`lidorub_conversations_created_total{channel="calls"}`:               1,
		`lidorub_manager_open_conversations{manager="boris"}`:                1,
		`lidorub_manager_open_conversations{manager="anna"}`:                 0,
	})
}
