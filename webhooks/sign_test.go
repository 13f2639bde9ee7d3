package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestSignSpecVector checks the signer against the Standard Webhooks test vector (the
// standard-webhooks repository's libraries: go/webhook_test.go TestWebhookSign, and the
// same vector in its C#, Java, PHP and Python tests).
func TestSignSpecVector(t *testing.T) {
	s, err := NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %q, want the spec's %q", got, want)
	}
	if indep := independentSign(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
		[]byte(`{"test": 2432232314}`)); "v1,"+indep != got {
		t.Fatalf("independent HMAC %q differs from %q", indep, got)
	}
}

// independentSign computes the signature from the spec's definition with crypto/hmac only:
// base64(HMAC-SHA256(key = base64-decoded secret after whsec_, "id.timestamp.body")).
func independentSign(t *testing.T, secret, id, ts string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// verifyIndependently checks a delivery's headers the way a receiver following the spec
// would, without the signing code: some v1 signature of the header must match.
func verifyIndependently(t *testing.T, secret string, r request) bool {
	t.Helper()
	want := independentSign(t, secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Body)
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		v, s, ok := strings.Cut(sig, ",")
		if ok && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// TestSignRotation: with two secrets the header carries two signatures, and a receiver
// holding either secret verifies the delivery (the library's Verify and the independent check).
func TestSignRotation(t *testing.T) {
	s, err := NewSigner(testSecret2, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now()
	body := []byte(`{"type":"lead.won"}`)
	sig := s.Sign("msg_1-0", ts, body)
	if n := len(strings.Fields(sig)); n != 2 {
		t.Fatalf("signature header %q: %d signatures, want 2", sig, n)
	}
	r := request{Header: http.Header{}, Body: body}
	r.Header.Set("webhook-id", "msg_1-0")
	r.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	r.Header.Set("webhook-signature", sig)
	for _, sec := range []string{testSecret, testSecret2} {
		wh, err := standardwebhooks.NewWebhook(sec)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, r.Header); err != nil {
			t.Errorf("library verification with one of the secrets: %v", err)
		}
		if !verifyIndependently(t, sec, r) {
			t.Errorf("independent verification with one of the secrets failed")
		}
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("a-third-secret-nobody-has-000000")))
	if other.Verify(body, r.Header) == nil {
		t.Error("a secret that did not sign verified the delivery")
	}
}

func TestNewSignerRejects(t *testing.T) {
	for _, sec := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="} {
		if _, err := NewSigner(sec); err == nil {
			t.Errorf("NewSigner(%q) accepted", sec)
		} else if sec != "" && strings.Contains(err.Error(), sec) {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}
