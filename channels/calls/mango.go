package calls

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// Mango Office VPBX API notifications (the "API Виртуальной АТС" technical documentation,
// https://www.mango-office.ru/support/integratsiya-api/): the VPBX POSTs, form-encoded,
// vpbx_api_key (the VPBX's unique code), sign = hex SHA-256 of api_key + json + api_salt, and
// json (the event) to <the external system's address>/events/call (every change of a call
// leg's state: Appeared, Connected, OnHold, Disconnected), /events/summary (once per call,
// when it ends), /events/recording, /events/dtmf, /ping ("check the connection").

// SignMango returns the sign field for the json field.
func SignMango(key, salt, js string) string {
	h := sha256.Sum256([]byte(key + js + salt))
	return hex.EncodeToString(h[:])
}

// mangoNum is an integer Mango writes as a JSON number or a string.
type mangoNum int64

func (n *mangoNum) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %q", s)
	}
	*n = mangoNum(v)
	return nil
}

// MangoParty is the from or to of a Mango event.
type MangoParty struct {
	Extension  string `json:"extension"`
	Number     string `json:"number"`
	LineNumber string `json:"line_number"`
}

// MangoCall is an events/call notification.
type MangoCall struct {
	EntryID   string     `json:"entry_id"`
	CallID    string     `json:"call_id"`
	Timestamp mangoNum   `json:"timestamp"`
	Seq       mangoNum   `json:"seq"`
	CallState string     `json:"call_state"` // Appeared | Connected | OnHold | Disconnected
	Location  string     `json:"location"`   // ivr | queue | abonent
	From      MangoParty `json:"from"`
	To        MangoParty `json:"to"`
}

// MangoSummary is an events/summary notification.
type MangoSummary struct {
	EntryID          string     `json:"entry_id"`
	CallDirection    mangoNum   `json:"call_direction"` // 0 internal, 1 inbound, 2 outbound
	From             MangoParty `json:"from"`
	To               MangoParty `json:"to"`
	LineNumber       string     `json:"line_number"`
	CreateTime       mangoNum   `json:"create_time"`
	ForwardTime      mangoNum   `json:"forward_time"`
	TalkTime         mangoNum   `json:"talk_time"` // 0: no conversation
	EndTime          mangoNum   `json:"end_time"`
	EntryResult      mangoNum   `json:"entry_result"` // 1 success, 0 not
	DisconnectReason mangoNum   `json:"disconnect_reason"`
}

// MangoRequest is a verified-or-not Mango POST: its fields.
type MangoRequest struct {
	Key, Sign, JSON string
}

// ParseMango decodes the form of a Mango POST.
func ParseMango(body []byte) (MangoRequest, error) {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return MangoRequest{}, fmt.Errorf("not a form: %w", err)
	}
	r := MangoRequest{Key: f.Get("vpbx_api_key"), Sign: f.Get("sign"), JSON: f.Get("json")}
	if r.JSON == "" {
		return r, errors.New("no json field")
	}
	return r, nil
}

// Verify reports whether the request carries the VPBX's key and a right sign.
func (r MangoRequest) Verify(key, salt string) bool {
	okKey := subtle.ConstantTimeCompare([]byte(r.Key), []byte(key)) == 1
	okSign := subtle.ConstantTimeCompare([]byte(strings.ToLower(r.Sign)), []byte(SignMango(key, salt, r.JSON))) == 1
	return okKey && okSign
}

func unix(n mangoNum) time.Time {
	if n <= 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(int64(n), 0)
}

// call normalises a summary; answeredExt and answeredAt are what events/call left.
func (s MangoSummary) call(answeredExt string, answeredAt time.Time) (call, error) {
	if !validID(s.EntryID) {
		return call{}, errors.New("entry_id is missing or too long")
	}
	k := call{provider: Mango, id: s.EntryID, event: "summary", started: unix(s.CreateTime), ended: unix(s.EndTime),
		meta: map[string]string{"call_id": s.EntryID, "disconnect_reason": strconv.FormatInt(int64(s.DisconnectReason), 10)}}
	if k.started.IsZero() {
		return call{}, errors.New("create_time is missing")
	}
	if k.ended.Before(k.started) {
		k.ended = k.started
	}
	talked := s.TalkTime > 0 && s.EntryResult == 1
	switch s.CallDirection {
	case 1:
		k.dir, k.customer, k.extension = channels.CallIn, s.From.Number, s.To.Extension
		if k.extension == "" {
			k.extension = answeredExt
		}
		k.meta["line"] = s.LineNumber
	case 2:
		k.dir, k.customer, k.extension = channels.CallOut, s.To.Number, s.From.Extension
		if internalNumber(k.customer) {
			k.dir = "internal"
		}
	default:
		k.dir = "internal"
	}
	if talked {
		k.answered = unix(s.TalkTime)
		if !answeredAt.IsZero() && answeredAt.Before(k.answered) && !answeredAt.Before(k.started) {
			k.answered = answeredAt
		}
		if k.answered.Before(k.started) {
			k.answered = k.started
		}
		k.disposition = "answered"
	} else {
		k.disposition = "no answer"
	}
	if k.extension != "" {
		k.meta["extension"] = k.extension
	}
	return k, nil
}

// mango handles POST /webhooks/calls/mango/{events/call,events/summary,...}.
func (c *Channel) mango(w http.ResponseWriter, r *http.Request) {
	body, ok := c.readBody(w, r, Mango)
	if !ok {
		return
	}
	event := strings.TrimPrefix(r.URL.Path, MangoPath)
	if event == "ping" {
		okJSON(w)
		return
	}
	req, err := ParseMango(body)
	if err != nil {
		c.reject(w, Mango, resMalformed, http.StatusBadRequest, err.Error())
		return
	}
	if !req.Verify(c.cfg.Mango.APIKey, c.cfg.Mango.APISalt) {
		c.reject(w, Mango, resForged, http.StatusUnauthorized, "bad vpbx_api_key or sign")
		return
	}
	ctx := r.Context()
	switch event {
	case "events/call":
		var ev MangoCall
		if err := json.Unmarshal([]byte(req.JSON), &ev); err != nil {
			c.reject(w, Mango, resMalformed, http.StatusBadRequest, "json is not a call event")
			return
		}
		if ev.CallState == "Connected" && validID(ev.EntryID) {
			ext := ev.To.Extension
			if ext == "" {
				ext = ev.From.Extension
			}
			at := unix(ev.Timestamp)
			if at.IsZero() {
				at = c.d.Clock.Now()
			}
			if err := c.remember(ctx, Mango, ev.EntryID, ext, at); err != nil {
				c.m.webhooks.WithLabelValues(Mango, resUnavailable).Inc()
				writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily unavailable, retry later"})
				return
			}
		}
		c.notFinal(w, Mango, okJSON)
	case "events/summary":
		var s MangoSummary
		if err := json.Unmarshal([]byte(req.JSON), &s); err != nil {
			c.reject(w, Mango, resMalformed, http.StatusBadRequest, "json is not a call summary")
			return
		}
		var ext string
		var at time.Time
		if validID(s.EntryID) {
			if ext, at, err = c.recall(ctx, Mango, s.EntryID); err != nil {
				c.m.webhooks.WithLabelValues(Mango, resUnavailable).Inc()
				writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily unavailable, retry later"})
				return
			}
		}
		k, err := s.call(ext, at)
		if err != nil {
			c.reject(w, Mango, resMalformed, http.StatusUnprocessableEntity, err.Error())
			return
		}
		c.ingest(ctx, w, k, c.cfg.Mango.Managers, okJSON)
	default: // events/recording, events/dtmf, result/*: nothing to do
		c.notFinal(w, Mango, okJSON)
	}
}
