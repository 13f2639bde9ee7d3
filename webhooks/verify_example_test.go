package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// README:verify
func verify(secret string, r *http.Request, body []byte) bool {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	if t, err := strconv.ParseInt(ts, 10, 64); err != nil || math.Abs(time.Since(time.Unix(t, 0)).Seconds()) > 300 {
		return false // refuse replays of old deliveries
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body) // the raw body, before any JSON decoding
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		if v, s, _ := strings.Cut(sig, ","); v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// README:end

// TestReadmeVerifyExample: the README's verification code is this file's verify, and it
// accepts a delivery signed by the gateway (with either secret of a rotation) and refuses a
// tampered or old one.
func TestReadmeVerifyExample(t *testing.T) {
	src, err := os.ReadFile("verify_example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, code, _ := strings.Cut(string(src), "// README:verify\n")
	code, _, _ = strings.Cut(code, "\n// README:end")
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+code+"```") {
		t.Fatal("README's verification example differs from verify in verify_example_test.go")
	}
	s, err := NewSigner(testSecret, testSecret2)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"lead.created","timestamp":"2026-11-25T10:00:00Z","data":{"id":1,"channel":"form","stage":"created"}}`)
	req := func(ts time.Time, body []byte) *http.Request {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("webhook-id", "msg_1-0")
		r.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		r.Header.Set("webhook-signature", s.Sign("msg_1-0", ts, body))
		return r
	}
	now := time.Now()
	for _, c := range []struct {
		name   string
		secret string
		r      *http.Request
		body   []byte
		want   bool
	}{
		{"current secret", testSecret, req(now, body), body, true},
		{"rotated secret", testSecret2, req(now, body), body, true},
		{"tampered body", testSecret, req(now, body), append([]byte(nil), append(body[:len(body)-1:len(body)-1], ' ', '}')...), false},
		{"old delivery", testSecret, req(now.Add(-10*time.Minute), body), body, false},
	} {
		if got := verify(c.secret, c.r, c.body); got != c.want {
			t.Errorf("%s: verify = %v, want %v", c.name, got, c.want)
		}
	}
}
