package meta

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"text":"Привет 👋"}`)
	good := Sign("s3cret", body)
	for _, tc := range []struct {
		name, secret, header string
		want                 bool
	}{
		{"good", "s3cret", good, true},
		{"good with spaces", "s3cret", " " + good + " ", true},
		{"upper-case hex", "s3cret", "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		{"wrong secret", "other", good, false},
		{"empty secret", "", Sign("", body), false},
		{"missing", "s3cret", "", false},
		{"no prefix", "s3cret", strings.TrimPrefix(good, "sha256="), false},
		{"short", "s3cret", good[:len(good)-2], false},
	} {
		if got := VerifySignature(tc.secret, body, tc.header); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestSafeText(t *testing.T) {
	tok := "EAAGm0PX4ZCpsBAKZCZAfooBarBazQux1234567890abcdef"
	for _, in := range []string{
		"Invalid OAuth access token - Cannot parse access token " + tok,
		"token=" + tok + "&x=1",
		"IGQVJWabcdefghijklmnopqrstuvwxyz0123456789 is invalid",
	} {
		got := SafeText(in, tok)
		if strings.Contains(got, tok) || strings.Contains(got, "IGQVJW") || strings.Contains(got, "EAAG") {
			t.Errorf("SafeText(%q) = %q", in, got)
		}
	}
	if got := SafeText("(#100) Invalid parameter", "x-token"); got != "(#100) Invalid parameter" {
		t.Errorf("plain message changed: %q", got)
	}
	if got := SafeText(strings.Repeat("ю ", 400), ""); utf8.RuneCountInString(got) > 301 {
		t.Errorf("not capped: %d runes", utf8.RuneCountInString(got))
	}
}

func TestFlexibleJSON(t *testing.T) {
	var v struct {
		A, B, C, D, E Int
		F, G, H, I    ID
	}
	err := json.Unmarshal([]byte(`{"A":"1732780800","B":1732780800000,"C":"x","D":null,"E":{"x":1},
		"F":"17841400000000001","G":17841400000000001,"H":[1],"I":null}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.A != 1732780800 || v.B != 1732780800000 || v.C != 0 || v.D != 0 || v.E != 0 {
		t.Errorf("ints: %+v", v)
	}
	if v.F != "17841400000000001" || v.G != "17841400000000001" || v.H != "" || v.I != "" {
		t.Errorf("ids: %+v", v)
	}
	if !Time(1732780800).Equal(Time(1732780800000)) || !Time(0).IsZero() || !Time(1<<62).IsZero() {
		t.Error("Time")
	}
	if Time(1732780800).Year() != 2024 {
		t.Error("seconds")
	}
}

func TestMetricsShareOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewMetrics(reg, "instagram", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg, "whatsappcloud", []string{"2"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Graph != b.Graph {
		t.Fatal("second registration did not reuse the collector")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		if mf.GetName() == "lidorub_meta_graph_requests_total" {
			series = len(mf.GetMetric())
		}
	}
	if series != 2*len(graphResults) {
		t.Fatalf("%d graph series initialised, want %d", series, 2*len(graphResults))
	}
}

// TestVerifyAnswerIsPlainText: the handshake reflects hub.challenge, so the answer must be
// text/plain with nosniff (a browser must never sniff it as HTML).
func TestVerifyAnswerIsPlainText(t *testing.T) {
	w := &Webhook{Channel: "whatsappcloud", VerifyToken: "v"}
	rec := httptest.NewRecorder()
	w.ServeVerify(rec, httptest.NewRequest(http.MethodGet, "/webhooks/x?hub.mode=subscribe&hub.verify_token=v&hub.challenge=%3Cscript%3E1", nil))
	if rec.Code != 200 || rec.Body.String() != "<script>1" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if v := rec.Header().Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", v)
	}
}
