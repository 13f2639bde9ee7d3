package calls

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// Zadarma's PBX notifications ("API > Notifications" in the Zadarma documentation,
// https://zadarma.com/en/support/api/#api_webhooks, and the official PHP client
// github.com/zadarma/user-api-v1, lib/Webhook/*.php): form-encoded POSTs with an event
// field and a Signature header = base64 of the hex HMAC-SHA1, keyed with the API secret, of
// some of the fields concatenated (PHP: base64_encode(hash_hmac('sha1', $s, $secret)); note
// hash_hmac returns hex, so the base64 encodes the 40 hex characters, not the raw digest).
// The link is checked when it is saved: a GET with zd_echo that must be echoed back.

// zadarmaSigned lists, per event, the fields whose concatenation is signed.
var zadarmaSigned = map[string][]string{
	"NOTIFY_START":     {"caller_id", "called_did", "call_start"},
	"NOTIFY_INTERNAL":  {"caller_id", "called_did", "call_start"},
	"NOTIFY_ANSWER":    {"caller_id", "destination", "call_start"},
	"NOTIFY_END":       {"caller_id", "called_did", "call_start"},
	"NOTIFY_OUT_START": {"internal", "destination", "call_start"},
	"NOTIFY_OUT_END":   {"internal", "destination", "call_start"},
	"NOTIFY_RECORD":    {"pbx_call_id", "call_id_with_rec"},
	"NOTIFY_IVR":       {"caller_id", "called_did", "call_start"},
}

// SignZadarma returns the Signature header Zadarma sends with form f.
func SignZadarma(secret string, f url.Values) string {
	var s strings.Builder
	for _, k := range zadarmaSigned[f.Get("event")] {
		s.WriteString(f.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(s.String()))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
}

// ZadarmaEvent is a parsed notification: the form and its event.
type ZadarmaEvent struct {
	Event string
	Form  url.Values
}

// ParseZadarma decodes a notification body (form-encoded).
func ParseZadarma(body []byte) (ZadarmaEvent, error) {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return ZadarmaEvent{}, fmt.Errorf("not a form: %w", err)
	}
	ev := f.Get("event")
	if ev == "" {
		return ZadarmaEvent{}, errors.New("no event field")
	}
	return ZadarmaEvent{Event: ev, Form: f}, nil
}

// zadarmaTime reads call_start ("2006-01-02 15:04:05" in the account's zone).
func zadarmaTime(s string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation(time.DateTime, s, loc)
}

// internalNumber: an extension or a short service number, not a customer's phone.
func internalNumber(s string) bool {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n <= 6
}

// call normalises a final notification (NOTIFY_END, NOTIFY_OUT_END). answeredExt and
// answeredAt are what NOTIFY_ANSWER left (zero when nothing); now is when it arrived.
func (ev ZadarmaEvent) call(loc *time.Location, now time.Time, answeredExt string, answeredAt time.Time) (call, error) {
	f := ev.Form
	id := f.Get("pbx_call_id")
	if !validID(id) {
		return call{}, errors.New("pbx_call_id is missing or too long")
	}
	started, err := zadarmaTime(f.Get("call_start"), loc)
	if err != nil {
		return call{}, errors.New("call_start is not YYYY-MM-DD hh:mm:ss")
	}
	talk, _ := strconv.Atoi(f.Get("duration"))
	talk = min(max(talk, 0), 86400) // seconds; a day at most
	k := call{provider: Zadarma, id: id, event: ev.Event, started: started, ended: now,
		disposition: f.Get("disposition"), extension: f.Get("internal"),
		meta: map[string]string{"call_id": id, "disposition": f.Get("disposition")}}
	if s := f.Get("status_code"); s != "" {
		k.meta["status_code"] = s
	}
	if f.Get("is_recorded") == "1" && f.Get("call_id_with_rec") != "" {
		// the recording is fetched with the API (pbx/record/request) by this id: no URL here
		k.meta["recording_id"] = f.Get("call_id_with_rec")
	}
	if k.disposition == "answered" {
		k.answered = answeredAt
		if k.answered.IsZero() || k.answered.After(now) {
			k.answered = now.Add(-time.Duration(talk) * time.Second)
		}
		if k.answered.Before(started) {
			k.answered = started
		}
	}
	switch ev.Event {
	case "NOTIFY_END":
		k.dir, k.customer = channels.CallIn, f.Get("caller_id")
		k.meta["line"] = f.Get("called_did")
		if k.extension == "" {
			k.extension = answeredExt
		}
	case "NOTIFY_OUT_END":
		k.dir, k.customer = channels.CallOut, f.Get("destination")
		if internalNumber(k.customer) {
			k.dir = "internal"
		}
	default:
		return call{}, fmt.Errorf("%s is not a final event", ev.Event)
	}
	if k.extension != "" {
		k.meta["extension"] = k.extension
	}
	return k, nil
}

func okEmpty(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }

// zadarma handles GET (zd_echo) and POST /webhooks/calls/zadarma.
func (c *Channel) zadarma(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		echo := r.URL.Query().Get("zd_echo")
		if echo == "" || len(echo) > 256 {
			c.reject(w, Zadarma, resMalformed, http.StatusBadRequest, "zd_echo is required")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write([]byte(echo))
		return
	}
	body, ok := c.readBody(w, r, Zadarma)
	if !ok {
		return
	}
	ev, err := ParseZadarma(body)
	if err != nil {
		c.reject(w, Zadarma, resMalformed, http.StatusBadRequest, err.Error())
		return
	}
	if _, known := zadarmaSigned[ev.Event]; !known {
		c.notFinal(w, Zadarma, okEmpty) // an event we cannot verify: nothing is done with it
		return
	}
	if !hmac.Equal([]byte(r.Header.Get("Signature")), []byte(SignZadarma(c.cfg.Zadarma.Secret, ev.Form))) {
		c.reject(w, Zadarma, resForged, http.StatusUnauthorized, "bad or missing Signature")
		return
	}
	ctx := r.Context()
	id := ev.Form.Get("pbx_call_id")
	switch ev.Event {
	case "NOTIFY_ANSWER":
		if validID(id) {
			if err := c.remember(ctx, Zadarma, id, ev.Form.Get("internal"), c.d.Clock.Now()); err != nil {
				c.m.webhooks.WithLabelValues(Zadarma, resUnavailable).Inc()
				writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily unavailable, retry later"})
				return
			}
		}
		c.notFinal(w, Zadarma, okEmpty)
	case "NOTIFY_END", "NOTIFY_OUT_END":
		var ext string
		var at time.Time
		if validID(id) {
			if ext, at, err = c.recall(ctx, Zadarma, id); err != nil {
				c.m.webhooks.WithLabelValues(Zadarma, resUnavailable).Inc()
				writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily unavailable, retry later"})
				return
			}
		}
		k, err := ev.call(c.zadarmaTZ, c.d.Clock.Now(), ext, at)
		if err != nil {
			c.reject(w, Zadarma, resMalformed, http.StatusUnprocessableEntity, err.Error())
			return
		}
		c.ingest(ctx, w, k, c.cfg.Zadarma.Managers, okEmpty)
	default: // NOTIFY_START, NOTIFY_OUT_START, NOTIFY_INTERNAL, NOTIFY_RECORD, NOTIFY_IVR
		c.notFinal(w, Zadarma, okEmpty)
	}
}
