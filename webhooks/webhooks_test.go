package webhooks

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lidorub/lidorub/router"
)

// TestDeliverySigned: a timeline entry becomes one signed POST with the spec's headers and
// body; the signature verifies with the library and independently.
func TestDeliverySigned(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	h.clock.Advance(90 * time.Second)
	entry := h.xadd(7, router.StageWon, "sam", `{"amount":"125000.5","currency":"RUB"}`)
	at := h.clock.Now()
	if n := h.poll(); n != 1 {
		t.Fatalf("poll handled %d entries, want 1", n)
	}
	h.clock.Advance(3 * time.Second)
	if n := h.deliver(); n != 1 {
		t.Fatalf("deliver claimed %d, want 1", n)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if got, want := r.Header.Get("webhook-id"), "msg_"+entry; got != want {
		t.Errorf("webhook-id %q, want %q", got, want)
	}
	if got, want := r.Header.Get("webhook-timestamp"), strconv.FormatInt(h.clock.Now().Unix(), 10); got != want {
		t.Errorf("webhook-timestamp %q, want the attempt's time %q", got, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if !verifyIndependently(t, testSecret, r) {
		t.Error("independent verification failed")
	}
	wh, _ := standardwebhooks.NewWebhook(testSecret)
	if err := wh.VerifyIgnoringTimestamp(r.Body, r.Header); err != nil { // the fake clock is days away from now
		t.Errorf("library verification: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type": "lead.won", "timestamp": at.Format(time.RFC3339Nano),
		"data": map[string]any{"id": 7.0, "channel": "telegram", "name": "Ivan Petrov", "phone": "+79161234567",
			"email": "ivan@example.com", "source": "winter", "qualification": "hot", "lead_manager_id": "anna",
			"sales_manager_id": "sam", "amount": 125000.5, "currency": "RUB", "stage": "won", "manager": "sam"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
	if v := h.metric(h.svc.m.Deliveries.WithLabelValues("crm")); v != 1 {
		t.Errorf("deliveries %v, want 1", v)
	}
	if n := testutil.CollectAndCount(h.svc.m.Lag, "lidorub_webhook_lag_seconds"); n != 1 {
		t.Errorf("lag series %d", n)
	}
	if v := h.itemField("crm", "msg_"+entry, "state"); v != "delivered" {
		t.Errorf("item state %q, want delivered", v)
	}
	// Delivered once: another round and a re-read of the entry send nothing more.
	h.clock.Advance(time.Hour)
	h.deliver()
	if err := h.svc.handle(h.ctx, entryOf(h, entry)); err != nil {
		t.Fatal(err)
	}
	h.deliver()
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests after a re-read entry, want 1", n)
	}
}

// TestEventFilter: each endpoint gets the events it asked for; a stage that is no event
// (offered) and an endpoint disabled in the config get nothing.
func TestEventFilter(t *testing.T) {
	all, won, off := newReceiver(t), newReceiver(t), newReceiver(t)
	no := false
	offCfg := endpointCfg("off", off.URL)
	offCfg.Enabled = &no
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("all", all.URL), endpointCfg("won", won.URL, LeadWon, LeadLost), offCfg}})
	h.xadd(7, router.StageCreated, "", "")
	h.xadd(7, router.StageOffered, "anna", "")
	h.xadd(7, router.StageQualified, "anna", `{"level":"hot"}`)
	h.xadd(7, router.StageWon, "sam", `{"amount":"10","currency":"RUB"}`)
	if n := h.poll(); n != 4 {
		t.Fatalf("poll handled %d, want 4 (every entry acknowledged)", n)
	}
	h.deliver()
	types := func(rc *receiver) []string {
		var out []string
		for _, r := range rc.requests() {
			var p Payload
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Type)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		name string
		rc   *receiver
		want []string
	}{
		{"all", all, []string{LeadCreated, LeadQualified, LeadWon}},
		{"won", won, []string{LeadWon}},
		{"off", off, nil},
	} {
		if d := cmp.Diff(c.want, types(c.rc)); d != "" {
			t.Errorf("endpoint %s (-want +got):\n%s", c.name, d)
		}
	}
}

// TestRetrySchedule: an endpoint failing with 503 is tried ten times at the spec's schedule
// (on the injected clock, jitter on top), then dead-lettered.
func TestRetrySchedule(t *testing.T) {
	rc := newReceiver(t)
	rc.setAnswer(status(http.StatusServiceUnavailable))
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	h.rand = 0.5 // half of the 10 % jitter: every wait is 5 % longer
	id := "msg_" + h.xadd(7, router.StageCreated, "", "")
	h.poll()
	h.deliver() // attempt 1, immediately
	for i, wait := range DefaultRetrySchedule {
		want := h.clock.Now().Add(wait + wait/20)
		if got := h.due("crm", id); !got.Equal(want) {
			t.Fatalf("after attempt %d: due %v, want %v (%v + 5 %% jitter)", i+1, got, want, wait)
		}
		h.clock.Set(want.Add(-time.Millisecond))
		h.deliver()
		if n := len(rc.requests()); n != i+1 {
			t.Fatalf("retry %d sent %v early", i+1, time.Millisecond)
		}
		h.clock.Set(want)
		h.deliver()
		if n := len(rc.requests()); n != i+2 {
			t.Fatalf("after the wait %v: %d requests, want %d", wait, n, i+2)
		}
	}
	if got := h.deadIDs("crm"); !slices.Equal(got, []string{id}) {
		t.Fatalf("dead letters %v, want [%s] after the tenth attempt", got, id)
	}
	if !h.due("crm", id).IsZero() {
		t.Error("a dead letter is still in the outbox")
	}
	ids := map[string]bool{}
	for _, r := range rc.requests() {
		ids[r.Header.Get("webhook-id")] = true
	}
	if len(ids) != 1 {
		t.Errorf("retries used %d webhook-ids, want 1", len(ids))
	}
	for name, c := range map[string]float64{
		"retries": h.metric(h.svc.m.Retries.WithLabelValues("crm")),
		"5xx":     h.metric(h.svc.m.Failures.WithLabelValues("crm", "5xx")),
		"dead":    h.metric(h.svc.m.Dead.WithLabelValues("crm")),
	} {
		want := map[string]float64{"retries": 9, "5xx": 10, "dead": 1}[name]
		if c != want {
			t.Errorf("%s = %v, want %v", name, c, want)
		}
	}
	if v := h.metric(h.svc.m.Depth.WithLabelValues("crm", "dead")); v != 1 {
		t.Errorf("dead depth %v, want 1", v)
	}
}

// TestRetryAnswers: which answers are retried, dead-lettered or delivered, and how
// Retry-After moves the next attempt (never earlier than the receiver asked).
func TestRetryAnswers(t *testing.T) {
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
		outcome    string        // state after the first attempt: pending (retry), dead, delivered
		wait       time.Duration // retry: due after the attempt
	}{
		{"2xx", 204, "", "delivered", 0},
		{"500", 500, "", "pending", 5 * time.Second},
		{"502 with Retry-After 120", 502, "120", "pending", 120 * time.Second},
		{"429 with Retry-After shorter than the schedule", 429, "1", "pending", 5 * time.Second},
		{"429 with an HTTP date", 429, t0.Add(10 * time.Minute).Format(http.TimeFormat), "pending", 10 * time.Minute},
		{"408", 408, "", "pending", 5 * time.Second},
		{"409", 409, "", "pending", 5 * time.Second},
		{"425", 425, "", "pending", 5 * time.Second},
		{"redirect", 302, "", "pending", 5 * time.Second},
		{"400", 400, "", "dead", 0},
		{"401", 401, "", "dead", 0},
		{"404", 404, "", "dead", 0},
		{"422", 422, "", "dead", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t)
			rc.setAnswer(func(_ int, w http.ResponseWriter) {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.WriteHeader(c.status)
			})
			h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
			id := "msg_" + h.xadd(7, router.StageCreated, "", "")
			h.poll()
			h.deliver()
			if got := h.itemField("crm", id, "state"); got != c.outcome {
				t.Fatalf("state %q, want %q", got, c.outcome)
			}
			if c.outcome == "pending" {
				if got := h.due("crm", id); !got.Equal(t0.Add(c.wait)) {
					t.Errorf("due %v, want %v", got, t0.Add(c.wait))
				}
			}
			if got := h.itemField("crm", id, "last"); got != strconv.Itoa(c.status) {
				t.Errorf("last answer %q", got)
			}
		})
	}
}

// TestTimeoutRetried: a receiver slower than webhooks.timeout counts as a timeout and is retried.
func TestTimeoutRetried(t *testing.T) {
	rc := newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc.setAnswer(func(_ int, w http.ResponseWriter) { <-release })
	h := newHarness(t, Config{Timeout: 50 * time.Millisecond, Lease: time.Minute, Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	id := "msg_" + h.xadd(7, router.StageCreated, "", "")
	h.poll()
	h.deliver()
	if got := h.itemField("crm", id, "last"); got != "timeout" {
		t.Fatalf("last answer %q, want timeout", got)
	}
	if got := h.due("crm", id); !got.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("due %v, want 5s later", got)
	}
	if v := h.metric(h.svc.m.Failures.WithLabelValues("crm", "timeout")); v != 1 {
		t.Errorf("timeout failures %v", v)
	}
}

// TestGoneDisablesEndpoint: 410 dead-letters the item, disables the endpoint (in Redis, for
// every instance), raises one alert and queues nothing more for it; the other endpoint goes
// on. A replay re-enables it and sends the dead letter again with its webhook-id.
func TestGoneDisablesEndpoint(t *testing.T) {
	gone, ok := newReceiver(t), newReceiver(t)
	gone.setAnswer(status(http.StatusGone))
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("gone", gone.URL), endpointCfg("ok", ok.URL)}})
	first := "msg_" + h.xadd(7, router.StageCreated, "", "")
	h.xadd(7, router.StageQualified, "anna", `{"level":"hot"}`)
	h.poll()
	h.deliver()
	if n := len(gone.requests()); n != 2 {
		t.Fatalf("gone endpoint got %d requests, want 2 (one batch)", n)
	}
	if al := h.alerts.all(); len(al) != 1 || !strings.HasPrefix(al[0], "webhooks/gone: ") || !strings.Contains(al[0], "alert.webhooks.gone") {
		t.Fatalf("alerts %q, want one webhooks/gone alert", al)
	}
	if v, _ := h.rdb.HGet(h.ctx, newKeys(h.keys).ep("gone"), "disabled").Result(); v != "1" {
		t.Fatalf("disabled flag %q", v)
	}
	if v := h.metric(h.svc.m.Disabled.WithLabelValues("gone")); v != 1 {
		t.Errorf("disabled gauge %v", v)
	}
	// Later events are not queued for it; another instance does not deliver to it either.
	h.xadd(7, router.StageWon, "sam", `{"amount":"1","currency":"RUB"}`)
	h.poll()
	h.clock.Advance(time.Hour)
	other := h.newService("test-2")
	if _, err := other.Deliver(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.deliver()
	if n := len(gone.requests()); n != 2 {
		t.Fatalf("a disabled endpoint got %d requests, want still 2", n)
	}
	if n := len(ok.requests()); n != 3 {
		t.Fatalf("the other endpoint got %d requests, want 3", n)
	}
	if got := len(h.deadIDs("gone")); got != 2 {
		t.Fatalf("dead letters %d, want 2", got)
	}
	// Fixed: replay re-enables it and sends the dead letters again.
	gone.setAnswer(status(http.StatusOK))
	n, err := h.svc.Replay(h.ctx, "gone")
	if err != nil || n != 2 {
		t.Fatalf("replay: %d, %v", n, err)
	}
	h.deliver()
	reqs := gone.requests()
	if len(reqs) != 4 {
		t.Fatalf("after the replay: %d requests, want 4", len(reqs))
	}
	resent := map[string]bool{reqs[2].Header.Get("webhook-id"): true, reqs[3].Header.Get("webhook-id"): true}
	if !resent[first] {
		t.Errorf("replay used other webhook-ids: %v", resent)
	}
	if v := h.metric(h.svc.m.Disabled.WithLabelValues("gone")); v != 0 {
		t.Errorf("disabled gauge %v after the replay", v)
	}
	if v := h.metric(h.svc.m.Depth.WithLabelValues("gone", "dead")); v != 0 {
		t.Errorf("dead depth %v after the replay", v)
	}
}

// TestCrashBetweenSendAndRecord: a gateway claims an item and sends it, then dies before
// recording the answer. When the lease ends another gateway sends it again with the same
// webhook-id; the dead one's late answer (if it ever came) no longer counts.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	id := "msg_" + h.xadd(7, router.StageHandedOff, "anna", "")
	h.poll()
	ep := h.svc.byID["crm"]
	items, err := h.svc.claim(h.ctx, ep)
	if err != nil || len(items) != 1 {
		t.Fatalf("claim: %v, %v", items, err)
	}
	res := h.svc.attempt(h.ctx, ep, items[0]) // sent; the process dies before settle
	if res.outcome != outDelivered {
		t.Fatalf("attempt: %+v", res)
	}
	second := h.newService("test-2")
	if n, _ := second.Deliver(h.ctx); n != 0 {
		t.Fatalf("another gateway claimed a leased item (%d)", n)
	}
	h.clock.Advance(h.cfg.Lease)
	if n, err := second.Deliver(h.ctx); err != nil || n != 1 {
		t.Fatalf("after the lease: claimed %d, %v", n, err)
	}
	reqs := rc.requests()
	if len(reqs) != 2 || reqs[0].Header.Get("webhook-id") != id || reqs[1].Header.Get("webhook-id") != id {
		t.Fatalf("requests %d, ids %v; want the same id %s twice", len(reqs), []string{reqs[0].Header.Get("webhook-id")}, id)
	}
	// The first gateway's late settle is refused: its claim token is stale.
	if err := h.svc.settle(h.ctx, ep, items[0], res); err != nil {
		t.Fatal(err)
	}
	if v := h.metric(second.m.Deliveries.WithLabelValues("crm")); v != 1 {
		t.Errorf("deliveries %v, want 1 (the stale answer is not counted)", v)
	}
	if got := h.itemField("crm", id, "state"); got != "delivered" {
		t.Errorf("state %q", got)
	}
}

// TestSharedOutbox: two gateways delivering at once never send one item twice.
func TestSharedOutbox(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Batch: 5, Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	for range 40 {
		h.xadd(7, router.StageCreated, "", "")
	}
	h.poll()
	other := h.newService("test-2")
	done := make(chan error, 2)
	for _, s := range []*Service{h.svc, other} {
		go func() { _, err := s.Deliver(h.ctx); done <- err }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	for _, r := range rc.requests() {
		seen[r.Header.Get("webhook-id")]++
	}
	if len(seen) != 40 {
		t.Fatalf("%d distinct items delivered, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
}

// TestDeadLetterAndReplay: a refusing 4xx dead-letters at once; the replay endpoint
// (supervisors only) queues it again with its webhook-id.
func TestDeadLetterAndReplay(t *testing.T) {
	rc := newReceiver(t)
	rc.setAnswer(status(http.StatusBadRequest))
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	id := "msg_" + h.xadd(7, router.StageLost, "sam", `{"reason":"price"}`)
	h.poll()
	h.deliver()
	if got := h.deadIDs("crm"); !slices.Equal(got, []string{id}) {
		t.Fatalf("dead letters %v", got)
	}
	h.clock.Advance(24 * time.Hour)
	h.deliver()
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("a dead letter was sent again by itself (%d requests)", n)
	}
	mux := http.NewServeMux()
	h.svc.Register(mux, tokens{"sue-token": "sue", "anna-token": "anna"})
	for _, c := range []struct {
		token, path string
		want        int
	}{
		{"", "/api/v1/webhooks/crm/replay", 401},
		{"anna-token", "/api/v1/webhooks/crm/replay", 403},
		{"sue-token", "/api/v1/webhooks/nope/replay", 404},
	} {
		if got := serve(t, mux, "POST", c.path, c.token, nil); got != c.want {
			t.Errorf("%s as %q: %d, want %d", c.path, c.token, got, c.want)
		}
	}
	if n := len(h.deadIDs("crm")); n != 1 {
		t.Fatalf("refused requests changed the dead letters: %d", n)
	}
	rc.setAnswer(status(http.StatusOK))
	var ans struct {
		Endpoint string `json:"endpoint"`
		Enabled  bool   `json:"enabled"`
		Replayed int    `json:"replayed"`
	}
	if got := serve(t, mux, "POST", "/api/v1/webhooks/crm/replay", "sue-token", &ans); got != 200 || ans.Replayed != 1 || !ans.Enabled {
		t.Fatalf("replay: %d %+v", got, ans)
	}
	h.deliver()
	reqs := rc.requests()
	if len(reqs) != 2 || reqs[1].Header.Get("webhook-id") != id {
		t.Fatalf("after the replay: %d requests", len(reqs))
	}
	if got := h.itemField("crm", id, "state"); got != "delivered" {
		t.Errorf("state %q", got)
	}
	var st struct {
		Endpoints []EndpointStatus `json:"endpoints"`
	}
	if got := serve(t, mux, "GET", "/api/v1/webhooks", "sue-token", &st); got != 200 || len(st.Endpoints) != 1 ||
		st.Endpoints[0].Dead != 0 || st.Endpoints[0].Pending != 0 || st.Endpoints[0].Disabled {
		t.Errorf("status: %d %+v", got, st)
	}
}

// TestErasedLeadDropped: the outbox holds ids only; an item whose lead was erased before
// its delivery is dropped unsent.
func TestErasedLeadDropped(t *testing.T) {
	rc := newReceiver(t)
	rc.setAnswer(status(http.StatusServiceUnavailable))
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	id := "msg_" + h.xadd(7, router.StageCreated, "", "")
	h.poll()
	vals, err := h.rdb.HGetAll(h.ctx, newKeys(h.keys).item("crm", id)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vals {
		for _, pd := range []string{"Ivan", "+7916", "ivan@"} {
			if strings.Contains(v, pd) {
				t.Errorf("outbox field %s holds personal data", k)
			}
		}
	}
	h.deliver() // 503: retried later
	h.leads.erase(7)
	h.clock.Advance(time.Minute)
	h.deliver()
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests, want only the one before the erasure", n)
	}
	if got := h.itemField("crm", id, "state"); got != "dropped" {
		t.Errorf("state %q, want dropped", got)
	}
	if !h.due("crm", id).IsZero() {
		t.Error("the erased lead's item is still queued")
	}
	if v := h.metric(h.svc.m.Dropped.WithLabelValues("crm")); v != 1 {
		t.Errorf("dropped %v", v)
	}
}
