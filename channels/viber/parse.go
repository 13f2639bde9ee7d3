package viber

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/phone"
)

// Callback events (https://developers.viber.com/docs/api/rest-bot-api/#callbacks).
const (
	EventWebhook             = "webhook" // set_webhook's availability check
	EventMessage             = "message"
	EventConversationStarted = "conversation_started"
	EventSubscribed          = "subscribed"
	EventUnsubscribed        = "unsubscribed"
	EventDelivered           = "delivered"
	EventSeen                = "seen"
	EventFailed              = "failed"
)

// EventTypes are the optional events set_webhook subscribes to (message, subscribed and
// unsubscribed are always sent).
var EventTypes = []string{EventDelivered, EventSeen, EventFailed, EventSubscribed, EventUnsubscribed, EventConversationStarted}

// User is a callback's user or sender.
type User struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Avatar     string `json:"avatar"`
	Country    string `json:"country"`
	Language   string `json:"language"`
	APIVersion int    `json:"api_version"`
}

// CallbackMessage is the message of a "message" callback.
type CallbackMessage struct {
	Type      string      `json:"type"` // text, picture, video, file, sticker, contact, url, location
	Text      string      `json:"text"`
	Media     string      `json:"media"`
	Thumbnail string      `json:"thumbnail"`
	FileName  string      `json:"file_name"`
	Size      int64       `json:"size"`
	Duration  float64     `json:"duration"`
	StickerID json.Number `json:"sticker_id"`
	Location  *struct {
		Lat     float64 `json:"lat"`
		Lon     float64 `json:"lon"`
		Address string  `json:"address"`
	} `json:"location"`
	Contact *struct {
		Name        string `json:"name"`
		PhoneNumber string `json:"phone_number"`
		Avatar      string `json:"avatar"`
	} `json:"contact"`
	TrackingData string `json:"tracking_data"`
}

// Callback is one callback body (the fields of every event type; each uses some).
type Callback struct {
	Event        string           `json:"event"`
	Timestamp    int64            `json:"timestamp"` // epoch milliseconds
	MessageToken json.Number      `json:"message_token"`
	ChatHostname string           `json:"chat_hostname"`
	User         *User            `json:"user"`    // subscribed, conversation_started
	UserID       string           `json:"user_id"` // unsubscribed, delivered, seen, failed
	Sender       *User            `json:"sender"`  // message
	Message      *CallbackMessage `json:"message"` // message
	Type         string           `json:"type"`    // conversation_started: open
	Context      string           `json:"context"` // conversation_started: the deep link's context
	Subscribed   bool             `json:"subscribed"`
	Desc         string           `json:"desc"` // failed
}

// Time is the callback's timestamp (zero when it has none).
func (cb *Callback) Time() time.Time {
	if cb.Timestamp <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(cb.Timestamp).UTC()
}

// ErrNotCallback: the body is not a Viber callback at all.
var ErrNotCallback = errors.New("not a Viber callback")

// Decode reads one callback body. An error means the body is not a callback (no event).
func Decode(body []byte) (*Callback, error) {
	var cb Callback
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&cb); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCallback, err)
	}
	if cb.Event == "" {
		return nil, ErrNotCallback
	}
	return &cb, nil
}

// token is the callback's message_token as a dedupe key ("" when absent or not an integer).
func (cb *Callback) token() string {
	s := cb.MessageToken.String()
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		if _, err := strconv.ParseUint(s, 10, 64); err != nil {
			return ""
		}
	}
	return s
}

// Inbound turns a customer's message callback into the item to ingest; ok is false for a
// callback that is not a message or carries nothing usable (no sender, no token, no content).
// region reads contact phone numbers written without a country code.
func (cb *Callback) Inbound(bot, region string) (in channels.Inbound, ok bool) {
	if cb.Event != EventMessage || cb.Sender == nil || cb.Sender.ID == "" || cb.Message == nil {
		return in, false
	}
	tok := cb.token()
	if tok == "" {
		return in, false
	}
	m := cb.Message
	in = channels.Inbound{Kind: channels.KindMessage, Channel: Name, Account: bot, MessageID: tok,
		ContactID: cb.Sender.ID, DisplayName: strings.TrimSpace(cb.Sender.Name), SentAt: cb.Time(), Meta: map[string]string{}}
	if cb.Sender.Language != "" {
		in.Meta["language"] = cb.Sender.Language
	}
	if cb.Sender.Country != "" {
		in.Meta["country"] = cb.Sender.Country
	}
	switch m.Type {
	case "text":
		in.Text = m.Text
	case "picture":
		in.Text = m.Text // the caption
		in.Attachments = media("image", m)
	case "video":
		in.Text = m.Text
		in.Attachments = media("video", m)
	case "file":
		in.Attachments = media("document", m)
	case "sticker":
		a := channels.Attachment{Kind: "sticker", Ref: m.Media}
		if a.Ref == "" && m.StickerID != "" {
			a.Ref = "sticker:" + m.StickerID.String()
		}
		if a.Ref != "" {
			in.Attachments = []channels.Attachment{a}
		}
	case "url":
		in.Text = m.Media
	case "location":
		if l := m.Location; l != nil && validLatLon(l.Lat, l.Lon) {
			in.Attachments = []channels.Attachment{{Kind: "location",
				Ref: strconv.FormatFloat(l.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(l.Lon, 'f', -1, 64), Name: l.Address}}
		}
	case "contact":
		if c := m.Contact; c != nil && (c.PhoneNumber != "" || c.Name != "") {
			a := channels.Attachment{Kind: "contact", Ref: strings.TrimSpace(c.PhoneNumber), Name: strings.TrimSpace(c.Name)}
			// Viber does not say whose card it is; a customer who shares a number with a
			// business means "reach me here", so it is the lead's phone.
			if e, ok := phone.E164(c.PhoneNumber, region); ok {
				a.Ref, in.Phone = e, e
			}
			in.Attachments = []channels.Attachment{a}
		}
	default:
		// A type this gateway does not know: keep what it carries.
		if m.Media != "" {
			in.Attachments = []channels.Attachment{{Kind: "document", Ref: m.Media}}
		}
		in.Text = m.Text
	}
	if m.TrackingData != "" {
		in.Meta["tracking_data"] = m.TrackingData
	}
	if len(in.Meta) == 0 {
		in.Meta = nil
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Attachments) == 0 {
		return channels.Inbound{}, false
	}
	return in, true
}

func media(kind string, m *CallbackMessage) []channels.Attachment {
	if m.Media == "" {
		return nil
	}
	return []channels.Attachment{{Kind: kind, Ref: m.Media, Size: max(m.Size, 0), Name: m.FileName}}
}

func validLatLon(lat, lon float64) bool {
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// Status turns a delivered, seen or failed callback into the status item of one of our
// messages (Meta ref = its message_token); ok is false otherwise.
func (cb *Callback) Status(bot string) (in channels.Inbound, ok bool) {
	var status string
	switch cb.Event {
	case EventDelivered:
		status = "delivered"
	case EventSeen:
		status = "read"
	case EventFailed:
		status = "failed"
	default:
		return in, false
	}
	tok := cb.token()
	if tok == "" {
		return in, false
	}
	in = channels.Inbound{Kind: channels.KindStatus, Channel: Name, Account: bot, MessageID: cb.Event + ":" + tok,
		ContactID: cb.UserID, SentAt: cb.Time(), Meta: map[string]string{"ref": tok, "status": status}}
	if status == "failed" {
		reason := "Viber reported the message as not delivered"
		if d := strings.TrimSpace(cb.Desc); d != "" {
			reason += ": " + truncate(d, 200)
		}
		in.Meta["error"] = reason
	}
	return in, true
}

// Parse reads one verified callback body of bot: the item to ingest, if any. It never
// panics (fuzzed); an error means the body is not a callback.
func Parse(body []byte, bot, region string) (*Callback, []channels.Inbound, error) {
	cb, err := Decode(body)
	if err != nil {
		return nil, nil, err
	}
	if in, ok := cb.Inbound(bot, region); ok {
		return cb, []channels.Inbound{in}, nil
	}
	if in, ok := cb.Status(bot); ok {
		return cb, []channels.Inbound{in}, nil
	}
	return cb, nil, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
