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

// postMango POSTs the event js to path as Mango does, signed with key and salt.
func (e *env) postMango(path, js, key, salt string) *httptest.ResponseRecorder {
	f := url.Values{"vpbx_api_key": {key}, "sign": {SignMango(key, salt, js)}, "json": {js}}
	r := httptest.NewRequest(http.MethodPost, MangoPath+path, strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.serve(r)
}

func TestSignMango(t *testing.T) {
	// printf '%s' 'mango-vpbx-api-key{"a":1}mango-vpbx-api-salt' | sha256sum
	const want = "3b921188be77c7144300b5f4fcaf5e54c2bae4824bed1be96484737f8af7aa8e"
	if got := SignMango(mangoKey, mangoSalt, `{"a":1}`); got != want {
		t.Fatalf("sign %s, want %s", got, want)
	}
}

func TestMangoSignature(t *testing.T) {
	js := string(fixture(t, "mango_summary_missed.json"))
	for _, c := range []struct {
		name      string
		key, salt string
	}{
		{"wrong salt", mangoKey, "another-salt"},
		{"another VPBX's key", "another-vpbx", mangoSalt},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if w := e.postMango("events/summary", js, c.key, c.salt); w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d", w.Code)
			}
			if n := len(e.Stored(t)); n != 0 {
				t.Fatalf("%d items stored", n)
			}
		})
	}
	t.Run("json changed after signing", func(t *testing.T) {
		e := newEnv(t)
		f := url.Values{"vpbx_api_key": {mangoKey}, "sign": {SignMango(mangoKey, mangoSalt, js)},
			"json": {strings.Replace(js, `"call_direction":1`, `"call_direction":2`, 1)}}
		r := httptest.NewRequest(http.MethodPost, MangoPath+"events/summary", strings.NewReader(f.Encode()))
		if w := e.serve(r); w.Code != http.StatusUnauthorized || len(e.Stored(t)) != 0 {
			t.Fatalf("status %d", w.Code)
		}
	})
	t.Run("right", func(t *testing.T) {
		e := newEnv(t)
		if w := e.postMango("events/summary", js, mangoKey, mangoSalt); w.Code != http.StatusOK || len(e.Stored(t)) != 1 {
			t.Fatalf("status %d %s", w.Code, w.Body)
		}
	})
}

func TestMangoItems(t *testing.T) {
	type step struct{ path, file string }
	call := func(f string) step { return step{"events/call", f} }
	sum := func(f string) step { return step{"events/summary", f} }
	for _, c := range []struct {
		name  string
		steps []step
		want  want
	}{
		{"missed", []step{call("mango_call_appeared.json"), sum("mango_summary_missed.json")},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, boost: DefaultMissedBoost,
				receivedAt: at("2026-01-12T09:59:20Z"), text: "Missed call (no answer, rang 25 seconds): call back"}},
		{"answered", []step{call("mango_call_appeared.json"), call("mango_call_connected.json"), sum("mango_summary_answered.json")},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, connected: true, manager: "anna",
				connectedAt: at("2026-01-12T09:59:32Z"), receivedAt: at("2026-01-12T09:59:20Z"), text: "Incoming call answered by anna after 12 seconds, talked 28 seconds"}},
		{"summary before the call events", []step{sum("mango_summary_answered.json"), call("mango_call_connected.json"), call("mango_call_appeared.json")},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, connected: true, manager: "anna",
				connectedAt: at("2026-01-12T09:59:32Z"), receivedAt: at("2026-01-12T09:59:20Z")}},
		{"duplicate summary", []step{sum("mango_summary_missed.json"), sum("mango_summary_missed.json")},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallIn, boost: DefaultMissedBoost, receivedAt: at("2026-01-12T09:59:20Z")}},
		{"outbound connected", []step{sum("mango_summary_outbound.json")},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallOut, connected: true, manager: "boris",
				connectedAt: at("2026-01-12T09:59:38Z"), receivedAt: at("2026-01-12T09:59:30Z"), text: "Outgoing call by boris: connected, talked 17 seconds"}},
		{"outbound not answered", []step{sum("mango_summary_outbound_noanswer.json")},
			want{kind: channels.KindCall, contact: customer, dir: channels.CallOut, manager: "boris",
				receivedAt: at("2026-01-12T09:59:30Z"), text: "not connected"}},
		{"internal", []step{sum("mango_summary_internal.json")}, want{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for _, s := range c.steps {
				e.Clock.Advance(time.Second)
				if w := e.postMango(s.path, string(fixture(t, s.file)), mangoKey, mangoSalt); w.Code != http.StatusOK {
					t.Fatalf("%s %s: %d %s", s.path, s.file, w.Code, w.Body)
				}
			}
			checkItem(t, e.Stored(t), c.want)
		})
	}
}

// Mango's "check the connection", recording and DTMF notifications are acknowledged.
func TestMangoOtherEvents(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest(http.MethodPost, MangoPath+"ping", strings.NewReader(""))
	if w := e.serve(r); w.Code != http.StatusOK {
		t.Fatalf("ping: %d", w.Code)
	}
	if w := e.postMango("events/recording", `{"entry_id":"x","recording_id":"y"}`, mangoKey, mangoSalt); w.Code != http.StatusOK {
		t.Fatalf("recording: %d", w.Code)
	}
	if n := len(e.Stored(t)); n != 0 {
		t.Fatalf("%d items stored", n)
	}
}
