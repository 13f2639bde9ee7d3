// Package calls is the phone channel: telephony providers report calls by webhook (Zadarma,
// Mango Office, and a generic signed JSON format for any PBX or call-tracking service).
//
// Only the final event of a call (Zadarma NOTIFY_END / NOTIFY_OUT_END, Mango events/summary,
// the generic format's one event) becomes an inbound item; the events before it (Zadarma
// NOTIFY_START / NOTIFY_ANSWER / NOTIFY_OUT_START, Mango events/call) are acknowledged and at
// most remember who answered and when, in a short-lived per-call hash, for a final event that
// does not say. So events out of order are harmless: an END before its START makes the item
// at once and the late START changes nothing. Every item is deduplicated by (provider, call
// id, final event).
//
// The items (channels.KindCall, see channels.Call):
//   - an inbound call nobody of the team answered (no answer, busy, IVR or voicemail): a
//     callback lead, contact = the caller's number in E.164, priority raised by
//     missed_priority_boost;
//   - an inbound call answered by an extension: a lead already answered (speed-to-lead = the
//     ring time), assigned to the manager the extension maps to (queued when it maps to nobody);
//   - an outbound call by a manager's extension: ends speed-to-lead of the open conversation
//     with that number when it connected, else an attempt on its transcript. Outbound calls
//     from extensions that map to nobody are ignored.
//
// Internal calls (extension to extension) and calls without a usable customer number are
// ignored. The channel has no sender: a manager calls back by phone.
package calls

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/phone"
	"github.com/lidorub/lidorub/locale"
)

// Name is the channel's name.
const Name = "calls"

// Providers: the Inbound.Account of their items and the metric label.
const (
	Zadarma = "zadarma"
	Mango   = "mango"
	Generic = "generic"
)

// Paths of the webhooks.
const (
	ZadarmaPath = "/webhooks/calls/zadarma"
	MangoPath   = "/webhooks/calls/mango/" // Mango appends events/call, events/summary, ...
	GenericPath = "/webhooks/calls/generic"
)

// Channel receives the call webhooks.
type Channel struct {
	cfg   Config
	d     channels.Deps
	m     *metrics
	boost int
	// zadarmaTZ is the zone of Zadarma's call_start
	zadarmaTZ *time.Location
}

// New builds the channel.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	d = d.WithDefaults()
	if d.Ingester == nil || d.Redis == nil || d.Keys == nil {
		return nil, fmt.Errorf("calls: ingester, redis and keys are required")
	}
	c := &Channel{cfg: cfg, d: d, zadarmaTZ: time.UTC}
	if cfg.Zadarma.Enabled {
		loc, err := time.LoadLocation(cfg.Zadarma.TZ)
		if err != nil {
			return nil, fmt.Errorf("calls: zadarma.tz: %w", err)
		}
		c.zadarmaTZ = loc
	}
	if cfg.MissedPriorityBoost != nil {
		c.boost = *cfg.MissedPriorityBoost
	}
	m, err := newMetrics(d.Registerer)
	if err != nil {
		return nil, fmt.Errorf("calls: metrics: %w", err)
	}
	c.m = m
	return c, nil
}

// Register adds the webhooks of the enabled providers.
func (c *Channel) Register(mux *http.ServeMux) {
	if c.cfg.Zadarma.Enabled {
		mux.HandleFunc(ZadarmaPath, c.zadarma)
	}
	if c.cfg.Mango.Enabled {
		mux.HandleFunc(MangoPath, c.mango)
	}
	if c.cfg.Generic.Enabled {
		mux.HandleFunc(GenericPath, c.generic)
	}
}

// call is a provider's final event of a call, normalised.
type call struct {
	provider    string
	id          string // the provider's call id
	event       string // the final event's name (part of the dedupe key)
	dir         string // channels.CallIn, channels.CallOut or "internal"
	customer    string // the customer's number as the provider wrote it
	extension   string // the employee's extension or SIP user ("" none)
	started     time.Time
	answered    time.Time // zero: nobody of the team answered
	ended       time.Time
	disposition string
	voicemail   bool
	recording   string // recording URL
	meta        map[string]string
}

// Reasons an event makes no item (metric label values of lidorub_calls_ignored_total).
const (
	ignInternal   = "internal"
	ignNoNumber   = "no_number"
	ignUnknownExt = "unknown_extension"
	ignNotFinal   = "not_final"
)

// item turns a final call event into an inbound item, or says why it makes none.
func (c *Channel) item(k call, managers Managers) (channels.Inbound, string, string) {
	if k.dir != channels.CallIn && k.dir != channels.CallOut {
		return channels.Inbound{}, "", ignInternal
	}
	num, ok := phone.E164(k.customer, c.cfg.DefaultRegion)
	if !ok {
		return channels.Inbound{}, "", ignNoNumber
	}
	mgr := managers[k.extension]
	ring := k.ended
	if !k.answered.IsZero() {
		ring = k.answered
	}
	talk := time.Duration(0)
	if !k.answered.IsZero() && k.ended.After(k.answered) {
		talk = k.ended.Sub(k.answered)
	}
	cl := &channels.Call{Direction: k.dir, ManagerID: mgr}
	in := channels.Inbound{Kind: channels.KindCall, Channel: Name, Account: k.provider,
		MessageID: k.id + ":" + k.event, ContactID: num, Phone: num, Source: k.provider,
		SentAt: k.started, ReceivedAt: k.started, Call: cl, Meta: k.meta}
	if k.recording != "" {
		in.Attachments = []channels.Attachment{{Kind: "audio", Ref: k.recording, Name: "call recording"}}
	}
	var outcome string
	var line locale.Msg
	var who any = locale.M("call.ext", "ext", k.extension)
	if mgr != "" {
		who = mgr
	}
	if k.dir == channels.CallIn {
		// answered by a person: an extension took it (not the IVR, not voicemail)
		if !k.answered.IsZero() && k.extension != "" && !k.voicemail {
			cl.Connected, cl.ConnectedAt = true, k.answered
			outcome = "answered"
			line = locale.M("call.in.answered", "who", who, "ring", dur(ring.Sub(k.started)), "talk", dur(talk))
		} else {
			in.PriorityBoost = c.boost
			cl.ManagerID = "" // it rang there, nobody spoke
			outcome = "missed"
			line = locale.M("call.in.missed", "why", missedWhy(k), "ring", dur(ring.Sub(k.started)))
		}
	} else {
		if mgr == "" {
			return channels.Inbound{}, "", ignUnknownExt
		}
		if !k.answered.IsZero() {
			cl.Connected, cl.ConnectedAt = true, k.answered
			outcome = "out_connected"
			line = locale.M("call.out.connected", "who", who, "talk", dur(talk))
		} else {
			outcome = "out_attempt"
			line = locale.M("call.out.not_connected", "who", who, "why", missedWhy(k))
		}
	}
	// The API shows the English text; the staff bot renders the note in each manager's language.
	in.Text, cl.Note = line.String(), line.Encode()
	return in, outcome, ""
}

// missedWhy says why a call did not connect: a catalogue message for the usual reasons, the
// provider's own word for the others.
func missedWhy(k call) any {
	if k.voicemail {
		return locale.M("call.why.voicemail")
	}
	switch strings.ToLower(strings.NewReplacer("_", " ", "-", " ").Replace(strings.TrimSpace(k.disposition))) {
	case "", "no answer", "noanswer", "not answered":
		return locale.M("call.why.no_answer")
	case "busy", "user busy":
		return locale.M("call.why.busy")
	}
	return k.disposition
}

// dur is a call's ringing or talking time in whole seconds (the catalogue renders it in the
// reader's language).
func dur(d time.Duration) time.Duration {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second)
}

// ingest stores a final event's item and answers the provider: 200 once durable, 503 when
// the ingest failed (the provider retries).
func (c *Channel) ingest(ctx context.Context, w http.ResponseWriter, k call, managers Managers, ok func(http.ResponseWriter)) {
	in, outcome, ign := c.item(k, managers)
	if ign != "" {
		c.m.ignored.WithLabelValues(k.provider, ign).Inc()
		ok(w)
		return
	}
	res, err := c.d.Ingester.Ingest(ctx, in)
	if err != nil {
		c.m.webhooks.WithLabelValues(k.provider, resUnavailable).Inc()
		c.d.Log.Error("call event not stored; the provider will retry", "provider", k.provider, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily unavailable, retry later"})
		return
	}
	if res.Duplicate {
		c.m.webhooks.WithLabelValues(k.provider, resDuplicate).Inc()
	} else {
		c.m.webhooks.WithLabelValues(k.provider, resAccepted).Inc()
		c.m.calls.WithLabelValues(k.provider, outcome).Inc()
	}
	ok(w)
}

// notFinal acknowledges an event that makes no item.
func (c *Channel) notFinal(w http.ResponseWriter, provider string, ok func(http.ResponseWriter)) {
	c.m.ignored.WithLabelValues(provider, ignNotFinal).Inc()
	ok(w)
}

// reject answers a refused webhook (nothing stored) with a JSON error.
func (c *Channel) reject(w http.ResponseWriter, provider, result string, status int, msg string) {
	c.m.webhooks.WithLabelValues(provider, result).Inc()
	c.d.Log.Warn("call webhook refused", "provider", provider, "reason", result)
	writeJSON(w, status, errorBody{Error: msg})
}

// readBody reads a POST body up to max_body_bytes; ok is false when it answered already.
func (c *Channel) readBody(w http.ResponseWriter, r *http.Request, provider string) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.reject(w, provider, resMalformed, http.StatusMethodNotAllowed, "use POST")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBodyBytes))
	if err != nil {
		c.reject(w, provider, resMalformed, http.StatusRequestEntityTooLarge, "body too large or unreadable")
		return nil, false
	}
	return b, true
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func okJSON(w http.ResponseWriter) { writeJSON(w, http.StatusOK, map[string]string{"status": "ok"}) }

// validID reports whether a provider's call id can be part of a dedupe key and a Redis key.
func validID(id string) bool {
	return id != "" && len(id) <= 200 && !strings.ContainsAny(id, "{}\r\n ")
}

// callState remembers, for a call's final event, who answered it and when (from the events
// before it). Fields are set once (HSETNX): the first answer wins.
func (c *Channel) remember(ctx context.Context, provider, id, ext string, at time.Time) error {
	key := c.d.Keys.Channel(Name, provider, "call:"+id)
	p := c.d.Redis.TxPipeline()
	if ext != "" {
		p.HSetNX(ctx, key, "ext", ext)
	}
	p.HSetNX(ctx, key, "at", at.UnixMilli())
	p.Expire(ctx, key, DefaultCallStateTTL)
	_, err := p.Exec(ctx)
	return err
}

// recall returns what remember kept for a call (zero values when nothing).
func (c *Channel) recall(ctx context.Context, provider, id string) (ext string, at time.Time, err error) {
	v, err := c.d.Redis.HMGet(ctx, c.d.Keys.Channel(Name, provider, "call:"+id), "ext", "at").Result()
	if err != nil {
		return "", time.Time{}, err
	}
	if s, ok := v[0].(string); ok {
		ext = s
	}
	if s, ok := v[1].(string); ok {
		var ms int64
		if _, err := fmt.Sscan(s, &ms); err == nil && ms > 0 {
			at = time.UnixMilli(ms)
		}
	}
	return ext, at, nil
}
