package calls

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// Headers of the generic format.
const (
	GenericTimestampHeader = "X-Lidorub-Timestamp" // unix seconds of the delivery
	GenericSignatureHeader = "X-Lidorub-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// GenericEvent is the generic call-event format: one JSON object per call, POSTed when the
// call ends (a CDR). See "Phone calls" in the README.
type GenericEvent struct {
	CallID       string     `json:"call_id"`
	Direction    string     `json:"direction"` // inbound | outbound | internal
	From         string     `json:"from"`
	To           string     `json:"to"`
	Extension    string     `json:"extension,omitempty"` // who answered (inbound) or called (outbound)
	StartedAt    time.Time  `json:"started_at"`
	AnsweredAt   *time.Time `json:"answered_at,omitempty"` // absent or null: not answered
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	Disposition  string     `json:"disposition"` // answered | no_answer | busy | failed | voicemail | cancelled
	RecordingURL string     `json:"recording_url,omitempty"`
}

// dispositions of the generic format.
var dispositions = map[string]bool{"answered": true, "no_answer": true, "busy": true, "failed": true,
	"voicemail": true, "cancelled": true}

// SignGeneric returns the X-Lidorub-Signature value for body sent at ts.
func SignGeneric(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// errForged is a delivery whose signature, timestamp or key is wrong.
var errForged = errors.New("bad signature")

// verifyGeneric checks the signature headers against body at now.
func verifyGeneric(secret string, tolerance time.Duration, h http.Header, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(h.Get(GenericTimestampHeader), 10, 64)
	if err != nil {
		return errForged
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errForged
	}
	if !hmac.Equal([]byte(h.Get(GenericSignatureHeader)), []byte(SignGeneric(secret, ts, body))) {
		return errForged
	}
	return nil
}

// ParseGeneric decodes and checks a generic call event.
func ParseGeneric(body []byte) (GenericEvent, error) {
	var ev GenericEvent
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&ev); err != nil {
		return ev, fmt.Errorf("not a call event: %w", err)
	}
	switch {
	case !validID(ev.CallID):
		return ev, errors.New("call_id is required: 1 to 200 characters without spaces or braces")
	case ev.Direction != "inbound" && ev.Direction != "outbound" && ev.Direction != "internal":
		return ev, errors.New("direction must be inbound, outbound or internal")
	case ev.StartedAt.IsZero():
		return ev, errors.New("started_at is required (RFC 3339)")
	case !dispositions[ev.Disposition]:
		return ev, errors.New("disposition must be answered, no_answer, busy, failed, voicemail or cancelled")
	case ev.Disposition == "answered" && ev.AnsweredAt == nil:
		return ev, errors.New("answered_at is required when the disposition is answered")
	case ev.RecordingURL != "" && !strings.HasPrefix(ev.RecordingURL, "https://") && !strings.HasPrefix(ev.RecordingURL, "http://"):
		return ev, errors.New("recording_url must be an http(s) URL")
	}
	return ev, nil
}

// call normalises a generic event.
func (ev GenericEvent) call() call {
	k := call{provider: Generic, id: ev.CallID, event: "end", extension: ev.Extension, started: ev.StartedAt,
		disposition: ev.Disposition, voicemail: ev.Disposition == "voicemail", recording: ev.RecordingURL,
		meta: map[string]string{"call_id": ev.CallID, "disposition": ev.Disposition}}
	switch ev.Direction {
	case "inbound":
		k.dir, k.customer = channels.CallIn, ev.From
		k.meta["line"] = ev.To
	case "outbound":
		k.dir, k.customer = channels.CallOut, ev.To
	default:
		k.dir = "internal"
	}
	if ev.Disposition == "answered" && ev.AnsweredAt != nil {
		k.answered = *ev.AnsweredAt
	}
	if ev.EndedAt != nil {
		k.ended = *ev.EndedAt
	}
	if k.ended.IsZero() {
		k.ended = k.started
		if !k.answered.IsZero() {
			k.ended = k.answered
		}
	}
	if ev.Extension != "" {
		k.meta["extension"] = ev.Extension
	}
	return k
}

// generic handles POST /webhooks/calls/generic.
func (c *Channel) generic(w http.ResponseWriter, r *http.Request) {
	body, ok := c.readBody(w, r, Generic)
	if !ok {
		return
	}
	if err := verifyGeneric(c.cfg.Generic.Secret, c.cfg.Generic.Tolerance, r.Header, body, c.d.Clock.Now()); err != nil {
		c.reject(w, Generic, resForged, http.StatusUnauthorized, "bad or missing "+GenericSignatureHeader+" / "+GenericTimestampHeader)
		return
	}
	ev, err := ParseGeneric(body)
	if err != nil {
		c.reject(w, Generic, resMalformed, http.StatusUnprocessableEntity, err.Error())
		return
	}
	c.ingest(r.Context(), w, ev.call(), c.cfg.Generic.Managers, okJSON)
}
