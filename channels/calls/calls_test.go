package calls

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/locale"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

const (
	genericSecret = "generic-secret-0123456789"
	zadarmaSecret = "zadarma-api-secret"
	mangoKey      = "mango-vpbx-api-key"
	mangoSalt     = "mango-vpbx-api-salt"
	customer      = "+74951234567"
)

var managers = Managers{"101": "anna", "102": "boris"}

func testConfig(t testing.TB) Config {
	t.Helper()
	cfg := Config{Enabled: true,
		Zadarma: ZadarmaConfig{Enabled: true, Secret: zadarmaSecret, TZ: "UTC", Managers: managers},
		Mango:   MangoConfig{Enabled: true, APIKey: mangoKey, APISalt: mangoSalt, Managers: managers},
		Generic: GenericConfig{Enabled: true, Secret: genericSecret, Managers: managers}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

type env struct {
	*channeltest.Env
	ch  *Channel
	mux *http.ServeMux
	reg *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	ce := channeltest.NewEnv(t)
	return newEnvOn(t, ce, ce.Deps())
}

func newEnvOn(t *testing.T, ce *channeltest.Env, d channels.Deps) *env {
	t.Helper()
	e := &env{Env: ce, mux: http.NewServeMux(), reg: prometheus.NewRegistry()}
	d.Registerer = e.reg
	ch, err := New(testConfig(t), d)
	if err != nil {
		t.Fatal(err)
	}
	e.ch = ch
	ch.Register(e.mux)
	return e
}

func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postGeneric POSTs body signed with secret at the Env's clock.
func (e *env) postGeneric(body []byte, secret string) *httptest.ResponseRecorder {
	ts := e.Clock.Now().Unix()
	r := httptest.NewRequest(http.MethodPost, GenericPath, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(GenericTimestampHeader, strconv.FormatInt(ts, 10))
	r.Header.Set(GenericSignatureHeader, SignGeneric(secret, ts, body))
	return e.serve(r)
}

func (e *env) counter(c *prometheus.CounterVec, labels ...string) float64 {
	return testutil.ToFloat64(c.WithLabelValues(labels...))
}

func TestGenericSignature(t *testing.T) {
	body := fixture(t, "generic_missed.json")
	for _, c := range []struct {
		name   string
		mutate func(r *http.Request)
		want   int
	}{
		{"right", func(*http.Request) {}, http.StatusOK},
		{"wrong secret", func(r *http.Request) {
			r.Header.Set(GenericSignatureHeader, SignGeneric("another-secret-0123456789", 1768212000, body))
		}, http.StatusUnauthorized},
		{"no signature", func(r *http.Request) { r.Header.Del(GenericSignatureHeader) }, http.StatusUnauthorized},
		{"replayed an hour later", func(r *http.Request) {
			ts := int64(1768212000 - 3600)
			r.Header.Set(GenericTimestampHeader, strconv.FormatInt(ts, 10))
			r.Header.Set(GenericSignatureHeader, SignGeneric(genericSecret, ts, body))
		}, http.StatusUnauthorized},
		{"body changed", func(r *http.Request) {
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(string(body), "no_answer", "busy", 1))).Body
		}, http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ts := e.Clock.Now().Unix()
			r := httptest.NewRequest(http.MethodPost, GenericPath, bytes.NewReader(body))
			r.Header.Set(GenericTimestampHeader, strconv.FormatInt(ts, 10))
			r.Header.Set(GenericSignatureHeader, SignGeneric(genericSecret, ts, body))
			c.mutate(r)
			w := e.serve(r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			stored := len(e.Stored(t))
			if (c.want == http.StatusOK) != (stored == 1) {
				t.Fatalf("%d items stored", stored)
			}
			if c.want != http.StatusOK {
				if !strings.Contains(w.Body.String(), `"error"`) || e.counter(e.ch.m.webhooks, Generic, resForged) != 1 {
					t.Fatalf("refusal not a JSON error or not counted: %s", w.Body)
				}
				if strings.Contains(w.Body.String(), genericSecret) {
					t.Fatal("the answer shows the secret")
				}
			}
		})
	}
}

// want is the item a fixture must make ("" kind: none).
type want struct {
	kind, contact, manager, text string
	dir                          string
	connected                    bool
	connectedAt                  time.Time
	receivedAt                   time.Time
	boost                        int
	recording                    string
}

func checkItem(t *testing.T, got []channels.Inbound, w want) {
	t.Helper()
	if w.kind == "" {
		if len(got) != 0 {
			t.Fatalf("stored %+v, want nothing", got)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("stored %d items, want 1", len(got))
	}
	in := got[0]
	if in.Kind != w.kind || in.Channel != Name || in.ContactID != w.contact || in.Phone != w.contact || in.Call == nil {
		t.Fatalf("item %+v, want a %s from %s", in, w.kind, w.contact)
	}
	c := in.Call
	if c.Direction != w.dir || c.Connected != w.connected || !c.ConnectedAt.Equal(w.connectedAt) || c.ManagerID != w.manager {
		t.Fatalf("call %+v, want dir %s connected %v at %s by %q", c, w.dir, w.connected, w.connectedAt, w.manager)
	}
	if !in.ReceivedAt.Equal(w.receivedAt) || in.PriorityBoost != w.boost {
		t.Fatalf("received %s boost %d, want %s and %d", in.ReceivedAt, in.PriorityBoost, w.receivedAt, w.boost)
	}
	if w.text != "" && !strings.Contains(in.Text, w.text) {
		t.Fatalf("text %q does not say %q", in.Text, w.text)
	}
	if w.recording == "" && len(in.Attachments) != 0 || w.recording != "" && (len(in.Attachments) != 1 || in.Attachments[0].Ref != w.recording || in.Attachments[0].Kind != "audio") {
		t.Fatalf("attachments %+v, want recording %q", in.Attachments, w.recording)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestGenericItems(t *testing.T) {
	for _, c := range []struct {
		file string
		want want
	}{
		{"generic_missed.json", want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, boost: DefaultMissedBoost,
			receivedAt: at("2026-01-12T09:59:20Z"), text: "Missed call (no answer, rang 25 seconds): call back"}},
		{"generic_voicemail.json", want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, boost: DefaultMissedBoost,
			receivedAt: at("2026-01-12T09:58:00Z"), text: "voicemail", recording: "https://pbx.example.com/monitor/1768212001.43.mp3"}},
		{"generic_answered.json", want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, connected: true,
			connectedAt: at("2026-01-12T09:57:12Z"), manager: "anna", receivedAt: at("2026-01-12T09:57:00Z"),
			text: "Incoming call answered by anna after 12 seconds, talked 2 minutes", recording: "https://pbx.example.com/monitor/1768212002.44.mp3"}},
		{"generic_outbound.json", want{kind: channels.KindCall, contact: customer, dir: channels.CallOut, connected: true,
			connectedAt: at("2026-01-12T09:59:38Z"), manager: "boris", receivedAt: at("2026-01-12T09:59:30Z"), text: "connected"}},
		{"generic_outbound_busy.json", want{kind: channels.KindCall, contact: customer, dir: channels.CallOut, manager: "boris",
			receivedAt: at("2026-01-12T09:59:30Z"), text: "not connected (busy)"}},
		{"generic_internal.json", want{}},
	} {
		t.Run(c.file, func(t *testing.T) {
			e := newEnv(t)
			if w := e.postGeneric(fixture(t, c.file), genericSecret); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			checkItem(t, e.Stored(t), c.want)
		})
	}
}

func TestGenericRefusesBadEvents(t *testing.T) {
	for name, body := range map[string]string{
		"not json":              `call_id=1`,
		"no call id":            `{"direction":"inbound","from":"+74951234567","started_at":"2026-01-12T09:59:20Z","disposition":"no_answer"}`,
		"bad direction":         `{"call_id":"1","direction":"sideways","from":"+74951234567","started_at":"2026-01-12T09:59:20Z","disposition":"no_answer"}`,
		"answered without time": `{"call_id":"1","direction":"inbound","from":"+74951234567","started_at":"2026-01-12T09:59:20Z","disposition":"answered"}`,
		"bad recording url":     `{"call_id":"1","direction":"inbound","from":"+74951234567","started_at":"2026-01-12T09:59:20Z","disposition":"no_answer","recording_url":"javascript:x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			w := e.postGeneric([]byte(body), genericSecret)
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `"error"`) {
				t.Fatalf("status %d %s, want 422 with a JSON error", w.Code, w.Body)
			}
			if n := len(e.Stored(t)); n != 0 {
				t.Fatalf("%d items stored", n)
			}
		})
	}
}

// An outbound call from an extension that maps to no manager, and a call from a hidden
// number, make nothing.
func TestGenericIgnores(t *testing.T) {
	e := newEnv(t)
	unknown := strings.Replace(string(fixture(t, "generic_outbound.json")), `"102"`, `"199"`, 1)
	hidden := strings.Replace(string(fixture(t, "generic_missed.json")), `"+7 (495) 123-45-67"`, `"anonymous"`, 1)
	for _, b := range []string{unknown, hidden} {
		if w := e.postGeneric([]byte(b), genericSecret); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	}
	if n := len(e.Stored(t)); n != 0 {
		t.Fatalf("%d items stored", n)
	}
	if e.counter(e.ch.m.ignored, Generic, ignUnknownExt) != 1 || e.counter(e.ch.m.ignored, Generic, ignNoNumber) != 1 {
		t.Fatal("ignored calls not counted")
	}
}

// A call's line travels as a catalogue message too (Call.Note): the staff bot shows it in
// each manager's language, with Russian plural forms; Text stays the English rendering.
func TestCallLinesInManagersLanguage(t *testing.T) {
	cat, err := locale.New(locale.EN, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, en, ru string }{
		{"generic_missed.json", "Missed call (no answer, rang 25 seconds): call back",
			"Пропущенный звонок (нет ответа, вызов 25 секунд): перезвоните"},
		{"generic_answered.json", "Incoming call answered by anna after 12 seconds, talked 2 minutes",
			"Входящий звонок: ответил(а) anna через 12 секунд, разговор 2 минуты"},
		{"generic_outbound_busy.json", "Outgoing call by boris: not connected (busy)",
			"Исходящий звонок, boris: не дозвонились (занято)"},
	} {
		t.Run(c.file, func(t *testing.T) {
			e := newEnv(t)
			if w := e.postGeneric(fixture(t, c.file), genericSecret); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			items := e.Stored(t)
			if len(items) != 1 || items[0].Call == nil {
				t.Fatalf("stored %+v, want one call", items)
			}
			in := items[0]
			msg, ok := locale.Decode(in.Call.Note)
			if !ok {
				t.Fatalf("Call.Note %q is not a catalogue message", in.Call.Note)
			}
			if in.Text != c.en || cat.Render(locale.EN, msg) != c.en {
				t.Fatalf("English: text %q, note %q, want %q", in.Text, cat.Render(locale.EN, msg), c.en)
			}
			if got := cat.Render(locale.RU, msg); got != c.ru {
				t.Fatalf("Russian: %q, want %q", got, c.ru)
			}
		})
	}
}
