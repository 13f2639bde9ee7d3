package calls

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// postZadarma POSTs a notification signed with secret, as Zadarma does.
func (e *env) postZadarma(t *testing.T, body []byte, secret string) *httptest.ResponseRecorder {
	t.Helper()
	f, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, ZadarmaPath, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Signature", SignZadarma(secret, f))
	return e.serve(r)
}

// The signature of the PHP client's example: base64_encode(hash_hmac('sha1', $s, $secret)),
// i.e. base64 of the 40 hex characters.
func TestSignZadarmaIsBase64OfHex(t *testing.T) {
	f := url.Values{"event": {"NOTIFY_START"}, "caller_id": {"74951234567"}, "called_did": {"74957654321"}, "call_start": {"2026-01-12 09:59:20"}}
	// printf '%s' '74951234567749576543212026-01-12 09:59:20' |
	//   openssl dgst -sha1 -hmac zadarma-api-secret -hex | awk '{print $NF}' | tr -d '\n' | base64
	const want = "MTI4OThhODkzNjFkMDM2OWVlM2Y2MzYzZDc4YzRiNDE1OWU4ZjAwNg=="
	if got := SignZadarma(zadarmaSecret, f); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestZadarmaEcho(t *testing.T) {
	e := newEnv(t)
	w := e.serve(httptest.NewRequest(http.MethodGet, ZadarmaPath+"?zd_echo=f2b1c9d0", nil))
	if w.Code != http.StatusOK || w.Body.String() != "f2b1c9d0" {
		t.Fatalf("zd_echo answered %d %q", w.Code, w.Body)
	}
	if w := e.serve(httptest.NewRequest(http.MethodGet, ZadarmaPath, nil)); w.Code != http.StatusBadRequest {
		t.Fatalf("a GET without zd_echo answered %d", w.Code)
	}
}

func TestZadarmaSignature(t *testing.T) {
	for _, file := range []string{"zadarma_end_missed.form", "zadarma_out_end_answered.form", "zadarma_answer.form"} {
		t.Run(file, func(t *testing.T) {
			e := newEnv(t)
			body := fixture(t, file)
			if w := e.postZadarma(t, body, "not-the-secret"); w.Code != http.StatusUnauthorized {
				t.Fatalf("wrong secret: %d", w.Code)
			}
			// a signed field changed after signing
			r := httptest.NewRequest(http.MethodPost, ZadarmaPath, strings.NewReader(strings.Replace(string(body), "2026-01-12", "2026-01-13", 1)))
			f, _ := url.ParseQuery(string(body))
			r.Header.Set("Signature", SignZadarma(zadarmaSecret, f))
			if w := e.serve(r); w.Code != http.StatusUnauthorized {
				t.Fatalf("tampered call_start: %d", w.Code)
			}
			if n := len(e.Stored(t)); n != 0 {
				t.Fatalf("forged deliveries stored %d items", n)
			}
			if w := e.postZadarma(t, body, zadarmaSecret); w.Code != http.StatusOK {
				t.Fatalf("right signature: %d %s", w.Code, w.Body)
			}
			if e.counter(e.ch.m.webhooks, Zadarma, resForged) != 2 {
				t.Fatal("forged deliveries not counted")
			}
		})
	}
}

func TestZadarmaItems(t *testing.T) {
	t0 := time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		steps []string // fixtures, each delivered 5 s after the one before
		want  want
	}{
		{"missed", []string{"zadarma_start.form", "zadarma_end_missed.form"},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, boost: DefaultMissedBoost,
				receivedAt: at("2026-01-12T09:59:20Z"), text: "Missed call (no answer"}},
		{"answered", []string{"zadarma_start.form", "zadarma_answer.form", "zadarma_end_answered.form"},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, connected: true, manager: "anna",
				connectedAt: t0.Add(5 * time.Second), receivedAt: at("2026-01-12T09:59:20Z"), text: "answered by anna"}},
		{"END before START", []string{"zadarma_end_answered.form", "zadarma_start.form", "zadarma_answer.form"},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, connected: true, manager: "anna",
				connectedAt: t0.Add(-25 * time.Second), receivedAt: at("2026-01-12T09:59:20Z"), text: "answered by anna"}},
		{"duplicate END", []string{"zadarma_start.form", "zadarma_end_missed.form", "zadarma_end_missed.form"},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, boost: DefaultMissedBoost,
				receivedAt: at("2026-01-12T09:59:20Z")}},
		{"outbound connected", []string{"zadarma_out_start.form", "zadarma_out_end_answered.form"},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallOut, connected: true, manager: "boris",
				connectedAt: t0.Add(5*time.Second - 17*time.Second), receivedAt: at("2026-01-12T09:59:30Z"), text: "Outgoing call by boris: connected, talked 17 seconds"}},
		{"outbound busy", []string{"zadarma_out_end_busy.form"},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallOut, manager: "boris",
				receivedAt: at("2026-01-12T09:59:30Z"), text: "not connected (busy)"}},
		{"internal", []string{"zadarma_out_end_internal.form"}, want{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for i, f := range c.steps {
				if i > 0 {
					e.Clock.Advance(5 * time.Second)
				}
				if w := e.postZadarma(t, fixture(t, f), zadarmaSecret); w.Code != http.StatusOK {
					t.Fatalf("%s: %d %s", f, w.Code, w.Body)
				}
			}
			got := e.Stored(t)
			checkItem(t, got, c.want)
			if c.name == "answered" && got[0].Meta["recording_id"] != "1768211960.4812" {
				t.Errorf("meta %v: the recording id is missing", got[0].Meta)
			}
		})
	}
}
