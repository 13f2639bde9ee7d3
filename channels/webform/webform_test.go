package webform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

var t0 = time.Date(2026, 3, 2, 9, 15, 30, 123456789, time.UTC)

type env struct {
	h    *Channel
	mux  *http.ServeMux
	rdb  *redis.Client
	keys store.Keys
	clk  *clock.Fake
	logs *testlog.Buffer
}

func newEnv(t testing.TB, mutate func(*Config)) *env {
	t.Helper()
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	clk := clock.NewFake(t0)
	var cfg Config
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := New(cfg, channels.Deps{Ingester: store.NewIngest(rdb, keys, clk, nil), Clock: clk, Log: log})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	return &env{h: h, mux: mux, rdb: rdb, keys: keys, clk: clk, logs: logs}
}

type req struct {
	ct      string
	body    string
	headers map[string]string
	remote  string
	method  string
}

func (e *env) do(t testing.TB, r req) *httptest.ResponseRecorder {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	hr := httptest.NewRequest(method, Path, strings.NewReader(r.body))
	if r.ct != "" {
		hr.Header.Set("Content-Type", r.ct)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	hr.RemoteAddr = "203.0.113.7:51234"
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, hr)
	return rec
}

func (e *env) postJSON(t testing.TB, v any, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, req{ct: "application/json", body: string(b), headers: headers})
}

// stored returns every Inbound in the stream, decoded as the router will decode it.
func (e *env) stored(t testing.TB) []channels.Inbound { return channeltest.Stored(t, e.rdb, e.keys) }

type accepted struct {
	Status    string `json:"status"`
	LeadID    string `json:"lead_id"`
	Duplicate bool   `json:"duplicate"`
}

func decodeAccepted(t testing.TB, rec *httptest.ResponseRecorder) accepted {
	t.Helper()
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202; body %s", rec.Code, rec.Body)
	}
	var a accepted
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("202 body %q: %v", rec.Body, err)
	}
	if a.Status != "accepted" || a.LeadID == "" {
		t.Fatalf("202 body %+v", a)
	}
	return a
}

type errBody struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func decodeError(t testing.TB, rec *httptest.ResponseRecorder) errBody {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, want JSON; body %s", ct, rec.Body)
	}
	var e errBody
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	if e.Error == "" {
		t.Fatalf("error body without error text: %s", rec.Body)
	}
	return e
}

const (
	secretPhone = "+7 916 555-01-23"
	secretEmail = "Secret.Person@Example.org"
	secretMsg   = "please call me about the flat on Tverskaya 7"
)

func TestValidation(t *testing.T) {
	valid := map[string]any{"name": "Anna", "phone": secretPhone, "message": secretMsg, "consent": true}
	with := func(kv ...any) string {
		m := map[string]any{}
		for k, v := range valid {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	const jsonCT = "application/json"
	const formCT = "application/x-www-form-urlencoded"
	tests := []struct {
		name   string
		ct     string
		body   string
		status int
		field  string
	}{
		{"no consent", jsonCT, with("consent", nil), 422, "consent"},
		{"consent false", jsonCT, with("consent", false), 422, "consent"},
		{"consent no", jsonCT, with("consent", "no"), 422, "consent"},
		{"consent object", jsonCT, with("consent", map[string]any{}), 422, "consent"},
		{"urlencoded no consent", formCT, "name=Anna&phone=%2B79165550123&message=hi", 422, "consent"},
		{"urlencoded consent off", formCT, "phone=%2B79165550123&consent=off", 422, "consent"},
		{"bad phone", jsonCT, with("phone", "12345"), 422, "phone"},
		{"letters phone", jsonCT, with("phone", "call me maybe"), 422, "phone"},
		{"phone not a string", jsonCT, with("phone", true), 422, "phone"},
		{"no phone and no email", jsonCT, with("phone", nil), 422, "phone"},
		{"empty phone and email", jsonCT, with("phone", "", "email", ""), 422, "phone"},
		{"bad email", jsonCT, with("phone", nil, "email", "not-an-email"), 422, "email"},
		{"email with display name", jsonCT, with("phone", nil, "email", "Bob <bob@example.org>"), 422, "email"},
		{"name too long", jsonCT, with("name", strings.Repeat("я", 201)), 422, "name"},
		{"message too long", jsonCT, with("message", strings.Repeat("a", 4001)), 422, "message"},
		{"utm too long", jsonCT, with("utm_campaign", strings.Repeat("c", 201)), 422, "utm_campaign"},
		{"page_url too long", jsonCT, with("page_url", "https://example.com/"+strings.Repeat("p", 1990)), 422, "page_url"},
		{"page_url not http", jsonCT, with("page_url", "javascript:alert(1)"), 422, "page_url"},
		{"email too long", jsonCT, with("email", strings.Repeat("e", 250)+"@example.org"), 422, "email"},
		{"message not a string", jsonCT, with("message", []string{"a"}), 422, "message"},
		{"invalid UTF-8 in JSON", jsonCT, `{"name":"` + "\xff\xfe" + `","phone":"+79165550123","consent":true}`, 422, "name"},
		{"invalid UTF-8 urlencoded", formCT, "name=%FF%FE&phone=%2B79165550123&consent=on", 422, "name"},
		{"NUL in message", formCT, "message=a%00b&phone=%2B79165550123&consent=on", 422, "message"},
		{"malformed JSON", jsonCT, `{"name": "Anna", "phone": `, 400, ""},
		{"JSON array", jsonCT, `[1,2]`, 400, ""},
		{"JSON null", jsonCT, `null`, 400, ""},
		{"JSON trailing garbage", jsonCT, with() + `{}`, 400, ""},
		{"empty JSON body", jsonCT, ``, 400, ""},
		{"malformed urlencoded", formCT, "name=%zz&consent=on", 400, ""},
		{"wrong content type", "text/plain", with(), 415, ""},
		{"xml", "application/xml", `<lead/>`, 415, ""},
		{"no content type", "", with(), 415, ""},
		{"latin1 charset", "application/x-www-form-urlencoded; charset=windows-1251", "phone=%2B79165550123&consent=on", 415, ""},
		{"multipart without boundary", "multipart/form-data", "x", 400, ""},
		{"oversized body", jsonCT, with("message", strings.Repeat("a", 17<<10)), 413, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			rec := e.do(t, req{ct: tc.ct, body: tc.body})
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			eb := decodeError(t, rec)
			if eb.Field != tc.field {
				t.Errorf("field %q, want %q (error %q)", eb.Field, tc.field, eb.Error)
			}
			for _, secret := range []string{secretPhone, "79165550123", secretMsg, "not-an-email", "bob@example.org"} {
				if strings.Contains(rec.Body.String(), secret) || strings.Contains(e.logs.String(), secret) {
					t.Errorf("a submitted value leaked into the answer or logs: %s / %s", rec.Body, e.logs)
				}
			}
			if got := e.stored(t); len(got) != 0 {
				t.Fatalf("stream has %d entries after a refused submission", len(got))
			}
		})
	}
}

func TestOversizedBodyWithoutContentLength(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 2048 })
	body := `{"consent":true,"phone":"+79165550123","message":"` + strings.Repeat("a", 4000) + `"}`
	hr := httptest.NewRequest(http.MethodPost, Path, io.MultiReader(strings.NewReader(body))) // unknown length
	hr.ContentLength = -1
	hr.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, hr)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", rec.Code, rec.Body)
	}
	decodeError(t, rec)
	if n := len(e.stored(t)); n != 0 {
		t.Fatalf("%d entries stored", n)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.do(t, req{method: http.MethodGet})
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d, want 405", rec.Code)
	}
}

func TestDisabledRegistersNothing(t *testing.T) {
	e := newEnv(t, func(c *Config) { f := false; c.Enabled = &f })
	rec := e.do(t, req{ct: "application/json", body: `{}`})
	if rec.Code != http.StatusNotFound {
		t.Fatalf("disabled form: status %d, want 404", rec.Code)
	}
}

func wantInbound(phone, email, contact, msgID string, ttl time.Duration) channels.Inbound {
	return channels.Inbound{
		Kind:        channels.KindMessage,
		Channel:     channels.Form,
		Account:     "site",
		MessageID:   msgID,
		ContactID:   contact,
		DisplayName: "Анна Петрова",
		Text:        "Перезвоните, пожалуйста, после 18:00",
		Phone:       phone,
		Email:       email,
		Source:      "spring_sale",
		Meta: map[string]string{
			"consent_at":     "2026-03-02T09:15:30.123456789Z",
			"policy_version": "2025-11",
			"utm_source":     "yandex",
			"utm_medium":     "cpc",
			"utm_campaign":   "spring_sale",
			"utm_term":       "купить квартиру",
			"utm_content":    "ad 1",
			"page_url":       "https://example.ru/flats?id=7",
		},
		ReceivedAt: t0,
	}
}

func TestHappyPaths(t *testing.T) {
	fields := url.Values{
		"name": {"Анна Петрова"}, "phone": {"8 (916) 555-01-23"}, "email": {" Anna@Example.RU "},
		"message": {"Перезвоните, пожалуйста, после 18:00"}, "consent": {"on"},
		"utm_source": {"yandex"}, "utm_medium": {"cpc"}, "utm_campaign": {"spring_sale"},
		"utm_term": {"купить квартиру"}, "utm_content": {"ad 1"}, "page_url": {"https://example.ru/flats?id=7"},
		"unknown_field": {"ignored"},
	}
	jsonBody := func(mut func(map[string]any)) string {
		m := map[string]any{}
		for k, v := range fields {
			m[k] = v[0]
		}
		m["consent"] = true
		if mut != nil {
			mut(m)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	multipartBody := func() (string, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range fields {
			_ = mw.WriteField(k, v[0])
		}
		fw, _ := mw.CreateFormFile("attachment", "cv.pdf")
		_, _ = fw.Write([]byte("%PDF-1.4 ignored"))
		_ = mw.Close()
		return mw.FormDataContentType(), buf.String()
	}
	mpCT, mpBody := multipartBody()
	hashPhone := contentID("+79165550123", "Перезвоните, пожалуйста, после 18:00")
	tests := []struct {
		name    string
		ct      string
		body    string
		headers map[string]string
		want    channels.Inbound
	}{
		{"json", "application/json", jsonBody(nil), nil,
			wantInbound("+79165550123", "Anna@Example.RU", "+79165550123", hashPhone, 0)},
		{"urlencoded", "application/x-www-form-urlencoded", fields.Encode(), nil,
			wantInbound("+79165550123", "Anna@Example.RU", "+79165550123", hashPhone, 0)},
		{"urlencoded with charset and hidden consent=0 before the checkbox", "application/x-www-form-urlencoded; charset=UTF-8",
			"consent=0&" + fields.Encode(), nil,
			wantInbound("+79165550123", "Anna@Example.RU", "+79165550123", hashPhone, 0)},
		{"multipart (fetch with FormData)", mpCT, mpBody, nil,
			wantInbound("+79165550123", "Anna@Example.RU", "+79165550123", hashPhone, 0)},
		{"json email only, consent as string", "application/json",
			jsonBody(func(m map[string]any) { delete(m, "phone"); m["consent"] = "yes" }), nil,
			wantInbound("", "Anna@Example.RU", "anna@example.ru",
				contentID("anna@example.ru", "Перезвоните, пожалуйста, после 18:00"), 0)},
		{"json phone as number, idempotency key", "application/json",
			jsonBody(func(m map[string]any) { m["phone"] = json.Number("79165550123"); m["consent"] = 1 }),
			map[string]string{"Idempotency-Key": "9f0c2c1e-7d1b-4c55-a8f3-2b1f6c1d0e11"},
			wantInbound("+79165550123", "Anna@Example.RU", "+79165550123", "idem:9f0c2c1e-7d1b-4c55-a8f3-2b1f6c1d0e11", 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Account = "site"; c.PolicyVersion = "2025-11" })
			rec := e.do(t, req{ct: tc.ct, body: tc.body, headers: tc.headers})
			a := decodeAccepted(t, rec)
			if a.Duplicate {
				t.Errorf("first submission reported as duplicate")
			}
			got := e.stored(t)
			if len(got) != 1 {
				t.Fatalf("%d entries, want 1", len(got))
			}
			if !reflect.DeepEqual(got[0], tc.want) {
				g, _ := json.MarshalIndent(got[0], "", " ")
				w, _ := json.MarshalIndent(tc.want, "", " ")
				t.Fatalf("stored inbound:\n%s\nwant:\n%s", g, w)
			}
			ids, _ := e.rdb.XRange(context.Background(), e.keys.Inbound(), "-", "+").Result()
			if ids[0].ID != a.LeadID {
				t.Errorf("lead_id %q, stream entry %q", a.LeadID, ids[0].ID)
			}
			for _, secret := range []string{"79165550123", "anna@example.ru", "Anna@Example.RU", "Перезвоните", "Анна"} {
				if strings.Contains(e.logs.String(), secret) {
					t.Errorf("personal data %q in logs:\n%s", secret, e.logs)
				}
			}
		})
	}
}

func TestSourceFallsBackToPageURL(t *testing.T) {
	e := newEnv(t, nil)
	decodeAccepted(t, e.postJSON(t, map[string]any{"phone": "+4930901820", "consent": "1", "page_url": "https://example.com/contact"}, nil))
	got := e.stored(t)
	if len(got) != 1 {
		t.Fatalf("%d entries", len(got))
	}
	in := got[0]
	if in.Source != "https://example.com/contact" || in.Meta["page_url"] != "https://example.com/contact" {
		t.Errorf("source %q, meta %v", in.Source, in.Meta)
	}
	if in.Account != "default" || in.Meta["policy_version"] != "1" {
		t.Errorf("defaults: account %q policy %q", in.Account, in.Meta["policy_version"])
	}
	if _, ok := in.Meta["utm_campaign"]; ok {
		t.Errorf("empty utm fields must not be stored: %v", in.Meta)
	}
}

func TestPhoneE164(t *testing.T) {
	tests := []struct {
		in, region, want string
	}{
		{"+7 916 555-01-23", "RU", "+79165550123"},
		{"8 (916) 555-01-23", "RU", "+79165550123"},
		{"89165550123", "RU", "+79165550123"},
		{"9165550123", "RU", "+79165550123"},
		{"+7(495)123-45-67", "RU", "+74951234567"},
		{"+49 30 901820", "RU", "+4930901820"},
		{"030 901820", "DE", "+4930901820"},
		{"+1 (650) 253-0000", "RU", "+16502530000"},
		{"(650) 253-0000", "US", "+16502530000"},
		{"+44 20 7946 0958", "US", "+442079460958"},
		{"+375 29 123-45-67", "RU", "+375291234567"},
		{"+7 701 123 4567", "RU", "+77011234567"}, // Kazakhstan shares +7
		{"12345", "RU", ""},
		{"+7 916 555", "RU", ""},
		{"phone", "RU", ""},
		{"+999 123 456 789", "RU", ""},
	}
	for _, tc := range tests {
		got, ok := normalizePhone(tc.in, tc.region)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("normalizePhone(%q, %s) = %q, %v; want %q", tc.in, tc.region, got, ok, tc.want)
		}
	}
	// Through the handler with a configured default region.
	e := newEnv(t, func(c *Config) { c.DefaultRegion = "de" })
	decodeAccepted(t, e.do(t, req{ct: "application/x-www-form-urlencoded", body: "phone=030+901820&consent=true"}))
	if got := e.stored(t); len(got) != 1 || got[0].Phone != "+4930901820" || got[0].ContactID != "+4930901820" {
		t.Fatalf("stored %+v", got)
	}
}

func pttl(t *testing.T, e *env, msgID, account string) time.Duration {
	t.Helper()
	d, err := e.rdb.PTTL(context.Background(), e.keys.Dedupe(channels.Form, account, msgID)).Result()
	if err != nil {
		t.Fatalf("PTTL: %v", err)
	}
	return d
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, nil)
	hdr := map[string]string{"Idempotency-Key": "form-42"}
	first := decodeAccepted(t, e.postJSON(t, map[string]any{"phone": "+79165550123", "message": "one", "consent": true}, hdr))
	// A retry (even with a changed body) is the same lead.
	second := decodeAccepted(t, e.postJSON(t, map[string]any{"phone": "+79165550123", "message": "one!", "consent": true}, hdr))
	if first.Duplicate || !second.Duplicate || second.LeadID != first.LeadID {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	if n := len(e.stored(t)); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
	if d := pttl(t, e, "idem:form-42", "default"); d <= 23*time.Hour || d > 24*time.Hour {
		t.Fatalf("idempotency marker TTL %s, want about 24h", d)
	}
	// Another key is another lead, even with the same content.
	third := decodeAccepted(t, e.postJSON(t, map[string]any{"phone": "+79165550123", "message": "one", "consent": true},
		map[string]string{"Idempotency-Key": "form-43"}))
	if third.Duplicate || third.LeadID == first.LeadID {
		t.Fatalf("third %+v", third)
	}
	for _, bad := range []string{strings.Repeat("k", 201), "has space", "ключ"} {
		rec := e.postJSON(t, map[string]any{"phone": "+79165550123", "consent": true}, map[string]string{"Idempotency-Key": bad})
		if rec.Code != http.StatusBadRequest || decodeError(t, rec).Field != "Idempotency-Key" {
			t.Errorf("key %q: status %d body %s", bad, rec.Code, rec.Body)
		}
	}
	if n := len(e.stored(t)); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
}

func TestContentDedupeWindow(t *testing.T) {
	e := newEnv(t, nil)
	post := func(phone, msg string) accepted {
		return decodeAccepted(t, e.postJSON(t, map[string]any{"phone": phone, "message": msg, "consent": true}, nil))
	}
	first := post("+7 916 555-01-23", "call me")
	e.clk.Advance(9 * time.Minute)
	// The same number written differently, the same message: one lead.
	again := post("8 916 5550123", "call me")
	if !again.Duplicate || again.LeadID != first.LeadID {
		t.Fatalf("same phone+message within the window: %+v vs %+v", again, first)
	}
	// Another message from the same phone is a new lead.
	if other := post("+79165550123", "and one more thing"); other.Duplicate {
		t.Fatalf("different message reported as duplicate")
	}
	if n := len(e.stored(t)); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	// The window lives in Redis: the marker expires by its own TTL (not refreshed by the
	// duplicate), which we check instead of sleeping for ten minutes.
	id := contentID("+79165550123", "call me")
	if d := pttl(t, e, id, "default"); d <= 9*time.Minute || d > 10*time.Minute {
		t.Fatalf("dedupe marker TTL %s, want (9m, 10m]", d)
	}
	// After the window Redis has dropped the marker; emulate that expiry and submit again.
	e.clk.Advance(2 * time.Minute)
	if err := e.rdb.Del(context.Background(), e.keys.Dedupe(channels.Form, "default", id)).Err(); err != nil {
		t.Fatal(err)
	}
	late := post("+79165550123", "call me")
	if late.Duplicate || late.LeadID == first.LeadID {
		t.Fatalf("after the window: %+v", late)
	}
	got := e.stored(t)
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	if want := t0.Add(11 * time.Minute); !got[2].ReceivedAt.Equal(want) || got[2].Meta["consent_at"] != want.Format(time.RFC3339Nano) {
		t.Errorf("late lead received %s consent %s, want the advanced clock %s", got[2].ReceivedAt, got[2].Meta["consent_at"], want)
	}
}

func TestDedupeWindowConfigured(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DedupeWindow = 90 * time.Second })
	decodeAccepted(t, e.postJSON(t, map[string]any{"email": "X@Example.com", "message": "m", "consent": true}, nil))
	if d := pttl(t, e, contentID("x@example.com", "m"), "default"); d <= 80*time.Second || d > 90*time.Second {
		t.Fatalf("TTL %s, want about 90s", d)
	}
	// Email case does not split leads.
	if a := decodeAccepted(t, e.postJSON(t, map[string]any{"email": "x@example.COM", "message": "m", "consent": true}, nil)); !a.Duplicate {
		t.Fatalf("same email in another case not deduplicated")
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RatePerMinute = 6; c.Burst = 2 })
	post := func(remote string, n int) *httptest.ResponseRecorder {
		return e.do(t, req{ct: "application/json", remote: remote,
			body: fmt.Sprintf(`{"phone":"+79165550123","message":"m%d","consent":true}`, n)})
	}
	for i := 0; i < 2; i++ {
		decodeAccepted(t, post("198.51.100.1:1000", i))
	}
	rec := post("198.51.100.1:1001", 2)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("third from one IP: status %d, want 429", rec.Code)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "10" { // 6/min: one token every 10 s
		t.Errorf("Retry-After %q, want 10", ra)
	}
	decodeError(t, rec)
	// Another address has its own bucket.
	decodeAccepted(t, post("198.51.100.2:1000", 3))
	// Part of the wait: still limited, with a shorter Retry-After.
	e.clk.Advance(4 * time.Second)
	rec = post("198.51.100.1:1001", 4)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "6" {
		t.Fatalf("after 4s: status %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	e.clk.Advance(6 * time.Second)
	decodeAccepted(t, post("198.51.100.1:1001", 5))
	if n := len(e.stored(t)); n != 4 {
		t.Fatalf("%d entries, want 4 (refused submissions must not be stored)", n)
	}
	// IPv6 addresses of one /64 share a bucket.
	decodeAccepted(t, post("[2001:db8:1:2::1]:1000", 6))
	decodeAccepted(t, post("[2001:db8:1:2::2]:1000", 7))
	if rec := post("[2001:db8:1:2:ffff::3]:1000", 8); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("same /64: status %d, want 429", rec.Code)
	}
	decodeAccepted(t, post("[2001:db8:1:3::1]:1000", 9))
}

func TestRateLimitForwardedFor(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run("trust="+strconv.FormatBool(trust), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.RatePerMinute = 1; c.Burst = 1; c.TrustForwardedFor = trust })
			post := func(xff string, n int) int {
				return e.do(t, req{ct: "application/json", remote: "10.0.0.5:4000",
					headers: map[string]string{"X-Forwarded-For": xff},
					body:    fmt.Sprintf(`{"phone":"+79165550123","message":"m%d","consent":true}`, n)}).Code
			}
			// Two clients behind the same proxy.
			a, b := post("198.51.100.1, 10.0.0.9", 1), post("198.51.100.2", 2)
			if trust && (a != 202 || b != 202) {
				t.Fatalf("trusted XFF: %d %d, want both 202", a, b)
			}
			if !trust && (a != 202 || b != 429) {
				t.Fatalf("untrusted XFF: %d %d, want 202 then 429 (the proxy address is the client)", a, b)
			}
		})
	}
}

func TestRateLimitDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RatePerMinute = -1 })
	for i := 0; i < 50; i++ {
		decodeAccepted(t, e.postJSON(t, map[string]any{"phone": "+79165550123", "message": strconv.Itoa(i), "consent": true}, nil))
	}
}

// fakeSiteverify speaks the reCAPTCHA/hCaptcha/Turnstile siteverify protocol.
func fakeSiteverify(t *testing.T, status int) (*httptest.Server, *[]url.Values) {
	var mu sync.Mutex
	var seen []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("siteverify got %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		_ = r.ParseForm()
		mu.Lock()
		seen = append(seen, r.PostForm)
		mu.Unlock()
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		ok := r.PostForm.Get("secret") == "s3cr3t" && r.PostForm.Get("response") == "good-token"
		w.Header().Set("Content-Type", "application/json")
		if ok {
			fmt.Fprint(w, `{"success":true,"challenge_ts":"2026-03-02T09:15:00Z","hostname":"example.ru"}`)
		} else {
			fmt.Fprint(w, `{"success":false,"error-codes":["invalid-input-response"]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestCaptcha(t *testing.T) {
	tests := []struct {
		name     string
		status   int // of the provider
		body     string
		ct       string
		want     int
		wantSeen string // response field the provider got
	}{
		{"valid token", 200, `{"phone":"+79165550123","consent":true,"captcha_token":"good-token"}`, "application/json", 202, "good-token"},
		{"widget field name", 200, "phone=%2B79165550123&consent=on&cf-turnstile-response=good-token", "application/x-www-form-urlencoded", 202, "good-token"},
		{"rejected token", 200, `{"phone":"+79165550123","consent":true,"captcha_token":"bad-token"}`, "application/json", 422, "bad-token"},
		{"missing token", 200, `{"phone":"+79165550123","consent":true}`, "application/json", 422, ""},
		{"provider down", 500, `{"phone":"+79165550123","consent":true,"captcha_token":"good-token"}`, "application/json", 503, "good-token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := fakeSiteverify(t, tc.status)
			e := newEnv(t, func(c *Config) {
				c.Captcha = CaptchaConfig{VerifyURL: srv.URL + "/siteverify", Secret: "s3cr3t"}
			})
			rec := e.do(t, req{ct: tc.ct, body: tc.body, remote: "198.51.100.23:443"})
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			n := len(e.stored(t))
			if tc.want == 202 {
				if n != 1 {
					t.Fatalf("%d entries, want 1", n)
				}
			} else {
				if n != 0 {
					t.Fatalf("%d entries stored after a captcha failure", n)
				}
				if f := decodeError(t, rec).Field; f != "captcha" {
					t.Errorf("field %q, want captcha", f)
				}
			}
			if tc.wantSeen == "" {
				if len(*seen) != 0 {
					t.Fatalf("provider asked without a token")
				}
				return
			}
			if len(*seen) != 1 {
				t.Fatalf("provider asked %d times", len(*seen))
			}
			got := (*seen)[0]
			if got.Get("response") != tc.wantSeen || got.Get("secret") != "s3cr3t" || got.Get("remoteip") != "198.51.100.23" {
				t.Errorf("provider got %v", got)
			}
			if strings.Contains(e.logs.String(), "s3cr3t") || strings.Contains(rec.Body.String(), "s3cr3t") {
				t.Errorf("captcha secret leaked")
			}
		})
	}
}

// captchaFunc is a custom verifier (the hook).
type captchaFunc func(ctx context.Context, token, ip string) error

func (f captchaFunc) Verify(ctx context.Context, token, ip string) error { return f(ctx, token, ip) }

func TestCaptchaHook(t *testing.T) {
	e := newEnv(t, nil)
	var gotToken string
	e.h.SetCaptchaVerifier(captchaFunc(func(_ context.Context, token, _ string) error {
		gotToken = token
		if token != "ok" {
			return fmt.Errorf("%w: custom", ErrCaptchaRejected)
		}
		return nil
	}))
	if rec := e.postJSON(t, map[string]any{"phone": "+79165550123", "consent": true, "captcha_token": "no"}, nil); rec.Code != 422 {
		t.Fatalf("status %d", rec.Code)
	}
	decodeAccepted(t, e.postJSON(t, map[string]any{"phone": "+79165550123", "consent": true, "captcha_token": "ok"}, nil))
	if gotToken != "ok" {
		t.Fatalf("verifier got %q", gotToken)
	}
	if n := len(e.stored(t)); n != 1 {
		t.Fatalf("%d entries", n)
	}
}

func TestIngestFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	logs := &testlog.Buffer{}
	clk := clock.NewFake(t0)
	h, err := New(Config{}, channels.Deps{Ingester: store.NewIngest(rdb, store.NewKeys("down"), clk, nil), Clock: clk, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	hr := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{"phone":"`+secretPhone+`","message":"`+secretMsg+`","consent":true}`))
	hr.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, hr)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	decodeError(t, rec)
	if !strings.Contains(logs.String(), "lead not stored") || strings.Contains(logs.String(), "5550123") || strings.Contains(logs.String(), "Tverskaya") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AllowedOrigins = []string{"https://example.ru"} })
	pre := e.do(t, req{method: http.MethodOptions, headers: map[string]string{
		"Origin": "https://example.ru", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Origin") != "https://example.ru" ||
		!strings.Contains(pre.Header().Get("Access-Control-Allow-Headers"), "Idempotency-Key") ||
		pre.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight: %d %v", pre.Code, pre.Header())
	}
	bad := e.do(t, req{method: http.MethodOptions, headers: map[string]string{"Origin": "https://evil.example"}})
	if bad.Code != http.StatusForbidden || bad.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", bad.Code, bad.Header())
	}
	body := `{"phone":"+79165550123","consent":true}`
	ok := e.do(t, req{ct: "application/json", body: body, headers: map[string]string{"Origin": "https://example.ru"}})
	decodeAccepted(t, ok)
	if ok.Header().Get("Access-Control-Allow-Origin") != "https://example.ru" {
		t.Errorf("POST without Access-Control-Allow-Origin: %v", ok.Header())
	}
	foreign := e.do(t, req{ct: "application/json", body: `{"phone":"+79165550124","consent":true}`, headers: map[string]string{"Origin": "https://evil.example"}})
	if foreign.Code != http.StatusForbidden {
		t.Fatalf("foreign POST: %d", foreign.Code)
	}
	if n := len(e.stored(t)); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
	// Without allowed_origins there is no preflight route and no CORS header.
	plain := newEnv(t, nil)
	if rec := plain.do(t, req{method: http.MethodOptions, headers: map[string]string{"Origin": "https://example.ru"}}); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("OPTIONS without CORS config: %d", rec.Code)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ing := store.NewIngest(rdb, store.NewKeys(prefix), clock.Real{}, nil)
	_, err := New(Config{DefaultRegion: "XX"}, channels.Deps{Ingester: ing})
	if err == nil || err.Error() != `default_region: "XX" is not a region code like RU or DE` {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(Config{}, channels.Deps{}); err == nil {
		t.Fatal("nil ingester accepted")
	}
}

// The dedupe id of a form without Idempotency-Key is a plain hash of phone (or email) and
// message: with an empty or common message the phone is recovered by enumerating numbers, so
// it must not be logged (logs never carry phone numbers).
func TestLogsCarryNoContentHash(t *testing.T) {
	e := newEnv(t, nil)
	for _, msg := range []string{"", "Call me back"} {
		rec := e.postJSON(t, map[string]any{"name": "Ivan", "phone": "+7 999 123-45-67", "message": msg, "consent": true}, nil)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		hash := strings.TrimPrefix(contentID("+79991234567", msg), "h:")
		if strings.Contains(e.logs.String(), hash) {
			t.Fatalf("logs carry the phone's content hash %s:\n%s", hash, e.logs)
		}
	}
}
