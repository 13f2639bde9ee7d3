package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/clock"
)

// TestHoldRunners: with the runners held, the running gateway answers and stores web-form
// leads but nothing consumes the inbound stream; released, the router takes the stored
// backlog from the start and offers every lead. A gateway whose runners were never
// released still shuts down cleanly.
func TestHoldRunners(t *testing.T) {
	for _, release := range []bool{true, false} {
		t.Run(fmt.Sprintf("release=%v", release), func(t *testing.T) {
			cfg := testConfig(t, "")
			g, err := Build(context.Background(), cfg, testLogger(), clock.Real{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { g.Close() })
			start := g.HoldRunners()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			base := "http://" + ln.Addr().String()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopped := make(chan error, 1)
			go func() { stopped <- g.Run(ctx, ln) }()
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			do := func(method, path, token, body string, v any) int {
				t.Helper()
				req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				if v != nil {
					if err := json.NewDecoder(res.Body).Decode(v); err != nil {
						t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
					}
				}
				return res.StatusCode
			}
			if got := do("PUT", "/api/v1/managers/anna/status", annaToken, `{"online": true}`, nil); got != 200 {
				t.Fatalf("online: %d", got)
			}
			const n = 3
			for i := 0; i < n; i++ {
				var a formAnswer
				body := fmt.Sprintf(`{"name": "Held %d", "phone": "+7916%07d", "message": "held lead", "consent": true}`, i, 3000000+i)
				if got := do("POST", "/webhooks/form", "", body, &a); got != http.StatusAccepted || a.LeadID == "" {
					t.Fatalf("lead %d: %d %+v", i, got, a)
				}
			}
			rdb, in := g.Conn.Client, g.Conn.Keys.Inbound()
			if l, err := rdb.XLen(ctx, in).Result(); err != nil || l != n {
				t.Fatalf("inbound stream: %d entries (%v), want %d", l, err, n)
			}
			// Held: no consumer has read the stream (its consumer group is created by the
			// router's consumers when they start).
			groups, err := rdb.XInfoGroups(ctx, in).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, gr := range groups {
				if gr.Consumers != 0 || gr.EntriesRead != 0 {
					t.Fatalf("held runners read the inbound stream: %+v", gr)
				}
			}
			var o offers
			if do("GET", "/api/v1/managers/anna/conversations", annaToken, "", &o); len(o.Offers) != 0 {
				t.Fatalf("offers while held: %d", len(o.Offers))
			}
			if release {
				start()
				start() // idempotent
				deadline := time.Now().Add(15 * time.Second)
				for {
					o = offers{}
					do("GET", "/api/v1/managers/anna/conversations", annaToken, "", &o)
					if len(o.Offers) == n {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("released router offered %d of %d held leads", len(o.Offers), n)
					}
					time.Sleep(5 * time.Millisecond) // polling another goroutine's work, not a timer
				}
			}
			cancel()
			select {
			case err := <-stopped:
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("run did not return after cancel")
			}
		})
	}
}
