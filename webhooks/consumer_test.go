package webhooks

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// entryOf reads a timeline entry back as the consumer hands it over.
func entryOf(h *harness, id string) store.Entry {
	h.t.Helper()
	msgs, err := h.rdb.XRange(h.ctx, router.TimelineStream(h.keys), id, id).Result()
	if err != nil || len(msgs) != 1 {
		h.t.Fatalf("entry %s: %v", id, err)
	}
	return store.Entry{Stream: router.TimelineStream(h.keys), ID: id, Values: msgs[0].Values}
}

// tokens maps API tokens to managers; "sue" is the supervisor.
type tokens map[string]string

func (t tokens) ManagerByToken(tok string) string { return t[tok] }
func (t tokens) Role(id string) string {
	if id == "sue" {
		return router.RoleSupervisor
	}
	return "lead"
}

// serve does one request on mux and decodes the JSON answer into v (if not nil).
func serve(t *testing.T, mux *http.ServeMux, method, path, token string, v any) int {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(""))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	if v != nil && w.Code == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %q", method, path, err, b)
		}
	}
	return w.Code
}

// TestConsumerAcksAfterOutboxWrite: while the outbox cannot be written the timeline entry
// stays pending in the group; once it can, the entry is queued and only then acknowledged.
func TestConsumerAcksAfterOutboxWrite(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	entry := h.xadd(7, router.StageCreated, "", "")
	id := "msg_" + entry
	// Something else sits on the endpoint's outbox key (wrong type): enqueue.lua fails on it.
	blocker := newKeys(h.keys).due("crm")
	if err := h.rdb.Set(h.ctx, blocker, "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := h.poll(); n != 0 {
		t.Fatalf("poll handled %d entries with the outbox failing, want 0", n)
	}
	pending := func() int64 {
		n, err := store.PendingCount(h.ctx, h.rdb, router.TimelineStream(h.keys), Group)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := pending(); n != 1 {
		t.Fatalf("pending %d, want the entry unacknowledged", n)
	}
	if n, _ := h.rdb.Exists(h.ctx, newKeys(h.keys).item("crm", id)).Result(); n != 0 {
		t.Fatalf("item half-written although the script failed")
	}
	if err := h.rdb.Del(h.ctx, blocker).Err(); err != nil {
		t.Fatal(err)
	}
	// A restarted gateway (same instance name) reads its own pending entries first.
	h.svc = h.newService("test-1")
	if n := h.poll(); n != 1 {
		t.Fatalf("poll after the fix handled %d, want 1", n)
	}
	if n := pending(); n != 0 {
		t.Fatalf("pending %d after the outbox write, want 0", n)
	}
	if d := h.due("crm", id); !d.Equal(t0) {
		t.Fatalf("item due %v, want %v", d, t0)
	}
	h.deliver()
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d deliveries", n)
	}
}

// TestRunDeliversAndStops: Run consumes and delivers on its own, and returns once ctx is
// cancelled.
func TestRunDeliversAndStops(t *testing.T) {
	got := make(chan string, 1)
	rc := newReceiver(t)
	rc.setAnswer(func(_ int, w http.ResponseWriter) {})
	h := newHarness(t, Config{PollInterval: 10 * time.Millisecond, Endpoints: []Endpoint{endpointCfg("crm", rc.URL)}})
	rc.setAnswer(func(n int, w http.ResponseWriter) {
		if n == 1 {
			got <- rc.requests()[0].Header.Get("webhook-id")
		}
	})
	id := "msg_" + h.xadd(7, router.StageCreated, "", "")
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.svc.Run(ctx) }()
	select {
	case v := <-got:
		if v != id {
			t.Errorf("delivered %q, want %q", v, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run delivered nothing")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
