//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/internal/redistest"
)

// HTTP hardening of the real server: a client sending its headers too slowly (slowloris) or
// its body too slowly is cut off by the server's timeouts, every body is limited by
// http.max_body_bytes whatever the route, oversized headers are refused, and the web form's
// per-IP rate limit answers 429 with Retry-After.
func TestHTTPHardening(t *testing.T) {
	rdb, prefix := redistest.New(t)
	cleanupKeys(t, rdb, prefix)
	managers := makeManagers(1, 2)
	gw := newGateway(t, gwConfig{Instance: "gw-http", RedisURL: redistest.URL(t), Prefix: prefix, Managers: managers,
		ReadHeaderTimeout: "500ms", ReadTimeout: "1s", MaxBodyBytes: 4096, RatePerMinute: 2, Burst: 2})
	gw.startReady()

	// connEnd writes to a raw connection with write until it returns false or the server
	// closes the connection; it returns what the server sent and when it closed. Bounded:
	// the read gives up after limit.
	connEnd := func(t *testing.T, head string, write func(c net.Conn, i int) bool, limit time.Duration) (string, time.Duration) {
		t.Helper()
		c, err := net.DialTimeout("tcp", gw.addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(limit))
			b, _ := io.ReadAll(c) // until the server closes (or the deadline)
			got <- b
		}()
		stop := time.After(limit)
		for i := 0; ; i++ {
			select {
			case b := <-got:
				return string(b), time.Since(start)
			case <-stop:
				t.Fatalf("the server kept the connection open for %s", limit)
			case <-time.After(100 * time.Millisecond): // the slow client's pace
			}
			if !write(c, i) {
				b := <-got
				return string(b), time.Since(start)
			}
		}
	}

	t.Run("slow headers are cut at read_header_timeout", func(t *testing.T) {
		out, took := connEnd(t, "POST /webhooks/form HTTP/1.1\r\nHost: lidorub\r\n", func(c net.Conn, i int) bool {
			_, err := fmt.Fprintf(c, "X-Slow-%d: %d\r\n", i, i) // one header line every 100ms, never the blank line
			return err == nil
		}, 5*time.Second)
		if took < 400*time.Millisecond || took > 3*time.Second {
			t.Errorf("connection closed after %s, want about read_header_timeout (500ms)", took)
		}
		if out != "" && !strings.HasPrefix(out, "HTTP/1.1 408") {
			t.Errorf("the server answered a request whose headers never finished: %q", out)
		}
		t.Logf("slowloris connection closed by the server after %s", took.Round(time.Millisecond))
	})

	t.Run("slow body is cut at read_timeout", func(t *testing.T) {
		head := "PUT /api/v1/managers/m0/status HTTP/1.1\r\nHost: lidorub\r\nAuthorization: Bearer " + managers[0].Token +
			"\r\nContent-Type: application/json\r\nContent-Length: 3000\r\n\r\n{\"online\":"
		out, took := connEnd(t, head, func(c net.Conn, i int) bool {
			_, err := io.WriteString(c, "          ") // ten bytes every 100ms
			return err == nil
		}, 5*time.Second)
		if took > 3*time.Second {
			t.Errorf("slow body allowed for %s, want about read_timeout (1s)", took)
		}
		if out != "" && !strings.HasPrefix(out, "HTTP/1.1 400") {
			t.Errorf("answer to a body that never finished: %q", firstLine(out))
		}
		t.Logf("slow body ended after %s with %q", took.Round(time.Millisecond), firstLine(out))
	})

	client := &http.Client{Timeout: 5 * time.Second}
	t.Run("every body is limited by http.max_body_bytes", func(t *testing.T) {
		// The agent API's own limit is 64 KiB: only the server-wide 4 KiB limit refuses this.
		body, _ := json.Marshal(map[string]string{"text": strings.Repeat("x", 8000)})
		req, _ := http.NewRequest(http.MethodPost, "http://"+gw.addr+"/api/v1/conversations/1/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+managers[0].Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("8 KB body with max_body_bytes 4096: %d %s, want 413", resp.StatusCode, b)
		}
	})

	t.Run("oversized headers are refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gw.addr+"/healthz", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 100<<10))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("100 KB header: %d, want 431", resp.StatusCode)
		}
	})

	t.Run("the web form's per-IP limit answers 429 with Retry-After", func(t *testing.T) {
		var statuses []int
		var retryAfter string
		var last []byte
		for i := 0; i < 3; i++ { // burst 2, 2 per minute: the third is refused
			body, _ := json.Marshal(map[string]any{"name": "Rate", "phone": phone(500 + i), "message": "hi", "consent": true})
			resp, err := client.Post("http://"+gw.addr+"/webhooks/form", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			last, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
			retryAfter = resp.Header.Get("Retry-After")
		}
		if statuses[0] != 202 || statuses[1] != 202 || statuses[2] != 429 {
			t.Fatalf("statuses %v, want [202 202 429]", statuses)
		}
		if s, err := strconv.Atoi(retryAfter); err != nil || s < 1 || s > 60 {
			t.Errorf("Retry-After %q, want a number of seconds (1..60)", retryAfter)
		}
		var e struct{ Error string }
		if json.Unmarshal(last, &e) != nil || e.Error == "" {
			t.Errorf("429 body %q, want JSON {\"error\": ...}", last)
		}
	})
}

func firstLine(s string) string {
	line, _, _ := bufio.NewReader(strings.NewReader(s)).ReadLine()
	return string(line)
}
