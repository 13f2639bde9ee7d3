// Package channels is the channel contract: what every channel adapter exchanges with the
// rest of the gateway (the normalized inbound message, the outbound message, the small
// interfaces that connect them to the Redis pipeline) and the one shape every adapter has.
// It imports nothing else of the project: adapters import it, the router imports it, and
// neither it nor the router imports an adapter.
//
// Every adapter is a package with
//
//	const Name = "..."                               // its channel name
//	type Config struct{ ... }                        // its config section: Defaults(), Validate() error
//	func New(cfg Config, d channels.Deps) (*Channel, error)
//	func (c *Channel) Register(mux *http.ServeMux)   // its HTTP routes (may add none)
//
// and optionally Run(ctx) error (Runner: pollers, connections; Close() error after Run when
// it holds files) and Send (Sender: replies). The app package builds the enabled channels
// from one table.
//
// An adapter receives from its upstream (webhook, long polling, WhatsApp socket), builds an
// Inbound and calls Ingester.Ingest. Only after Ingest returns nil may the adapter
// acknowledge the upstream (answer 200, advance the Telegram offset, ack to WhatsApp): at
// that point the message is durable in Redis and deduplicated by (Channel, Account, MessageID).
//
// Replies go the other way: the router puts an Outbound on the outbound stream and the
// outbound worker calls the Sender registered for Outbound.Channel.
package channels

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Names of the built-in channels (metric labels, Redis keys, config sections). Each adapter
// also declares its own as Name; a new channel declares its name in its package only.
const (
	Form          = "form"
	Telegram      = "telegram"
	Instagram     = "instagram"
	WhatsApp      = "whatsapp"      // linked device through whatsmeow
	WhatsAppCloud = "whatsappcloud" // Meta's Cloud API
)

// Kinds of inbound items. Most are KindMessage.
const (
	KindMessage  = "message"  // a customer message: creates or continues a conversation
	KindEdit     = "edit"     // the customer edited an earlier message (MessageID = new event id, Meta["edited_id"] = original)
	KindReaction = "reaction" // a reaction: added to the transcript, never creates a lead
	KindDelete   = "delete"   // the customer deleted an earlier message (Meta["deleted_id"] = original): marked in the transcript, never creates a lead
	KindStatus   = "status"   // delivery state of one of our outbound messages (Meta["ref"] = channel message id, Meta["status"])
	// KindCall is a phone call (Inbound.Call says which way and whether somebody of the team
	// spoke to the customer). The customer's call opens or continues a conversation like a
	// message (a missed call is a callback lead); a connected call ends speed-to-lead; a
	// manager's call that did not connect is written on the transcript as an attempt only.
	KindCall = "call"
)

// Directions of a Call.
const (
	CallIn  = "in"  // the customer called
	CallOut = "out" // a lead-manager called the customer
)

// Call describes a phone call (Kind == KindCall).
type Call struct {
	Direction string `json:"dir"` // CallIn or CallOut
	// Connected: somebody of the team spoke to the customer (an inbound call answered, an
	// outbound call that connected) at ConnectedAt.
	Connected   bool      `json:"connected,omitempty"`
	ConnectedAt time.Time `json:"connected_at,omitzero"`
	// ManagerID is the lead-manager who answered or called ("" when the extension maps to
	// nobody). A connected call by a manager assigns a waiting or offered conversation to them.
	ManagerID string `json:"manager_id,omitempty"`
	// Note is the call's transcript line as a catalogue message (an encoded locale.Msg), for
	// showing it in the reader's language; Inbound.Text is its English rendering.
	Note string `json:"note,omitempty"`
}

// Attachment is a reference to media held by the channel (we do not download it).
type Attachment struct {
	Kind string `json:"kind"`           // image, video, audio, voice, document, sticker, location, contact, share, story...
	Ref  string `json:"ref,omitempty"`  // channel file id / media id / URL
	MIME string `json:"mime,omitempty"` // if known
	Size int64  `json:"size,omitempty"` // bytes, if known
	Name string `json:"name,omitempty"` // file name, contact name, place name
}

// Inbound is one normalized item received from a channel.
type Inbound struct {
	Kind        string            `json:"kind,omitempty"` // "" means KindMessage
	Channel     string            `json:"channel"`
	Account     string            `json:"account,omitempty"` // which bot / IG account / phone number received it
	MessageID   string            `json:"message_id"`        // the channel's id for this item: the dedupe key
	ContactID   string            `json:"contact_id"`        // the channel's id of the customer (chat id, IGSID, wa_id, phone)
	DisplayName string            `json:"display_name,omitempty"`
	Text        string            `json:"text,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`
	Phone       string            `json:"phone,omitempty"` // E.164 where known
	Email       string            `json:"email,omitempty"`
	Source      string            `json:"source,omitempty"` // deep-link payload, UTM campaign, post id...
	Meta        map[string]string `json:"meta,omitempty"`   // channel specifics (comment_id, media_id, utm_*, consent_at, ...)
	SentAt      time.Time         `json:"sent_at,omitempty"`
	ReceivedAt  time.Time         `json:"received_at"`
	// NoAutoReply: the channel allows no automatic reply to this item (an Instagram comment:
	// the one private reply it allows belongs to the manager's first answer).
	NoAutoReply bool `json:"no_auto_reply,omitempty"`
	// PriorityBoost raises the priority the qualification gives a new conversation (0..9
	// after the boost): a missed call is a callback lead, more urgent than a message.
	PriorityBoost int `json:"priority_boost,omitempty"`
	// Call is set on a KindCall item.
	Call *Call `json:"call,omitempty"`
	// Note is a text the channel wrote itself (not the customer's words: "reaction removed",
	// a call's line) as a catalogue message (an encoded locale.Msg), so the staff bot shows it
	// in the reader's language; Text is its English rendering (logs, the API).
	Note string `json:"note,omitempty"`
	// DedupeTTL is how long the (Channel, Account, MessageID) key is remembered. Zero means
	// the store default (7 days, longer than Meta's retry window).
	DedupeTTL time.Duration `json:"-"`
}

// IngestResult tells the adapter what happened to an Inbound.
type IngestResult struct {
	EntryID   string // the Redis stream entry id (the original one for a duplicate)
	Duplicate bool   // the same (Channel, Account, MessageID) was ingested before
}

// Ingester makes inbound items durable. Implemented by store.Ingest.
type Ingester interface {
	Ingest(ctx context.Context, in Inbound) (IngestResult, error)
}

// Outbound is a message to a customer.
type Outbound struct {
	ID             string            `json:"id"` // unique, stable across retries: use it as the channel's idempotency key where there is one
	ConversationID string            `json:"conversation_id"`
	Channel        string            `json:"channel"`
	Account        string            `json:"account,omitempty"`
	ContactID      string            `json:"contact_id"`
	Kind           string            `json:"kind"`                 // auto_ack, off_hours, reply, close
	ManagerID      string            `json:"manager_id,omitempty"` // "" for automatic messages
	Text           string            `json:"text,omitempty"`
	Attachments    []Attachment      `json:"attachments,omitempty"`
	Meta           map[string]string `json:"meta,omitempty"` // channel specifics, e.g. comment_id for an Instagram private reply
	CreatedAt      time.Time         `json:"created_at"`
}

// Human reports whether the message was written by a person (counts for speed-to-lead).
func (o Outbound) Human() bool { return o.ManagerID != "" && o.Kind == "reply" }

// SendResult is what a channel says about a sent message.
type SendResult struct {
	ChannelMessageID string // used to match later delivery statuses
	// Pending: the channel keeps the message until the customer fetches it (the website
	// chat's outbox), so a human reply's speed-to-lead ends at its "delivered" (or "read")
	// status — a KindStatus item with Meta["ref"] = ChannelMessageID —, not at this Send.
	// Ignored without a ChannelMessageID.
	Pending bool
}

// Sender delivers outbound messages on one channel. Send must honour ctx and must not retry
// forever itself: return a *RetryAfterError for rate limits, a Permanent error for failures
// that will never succeed (blocked by the user, chat not found, outside the messaging window),
// and any other error for temporary failures (retried with backoff by the outbound worker).
type Sender interface {
	Send(ctx context.Context, out Outbound) (SendResult, error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, out Outbound) (SendResult, error)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, out Outbound) (SendResult, error) { return f(ctx, out) }

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so IsPermanent reports true. The message is shown to the manager who
// wrote the reply, so it must not contain tokens or personal data.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Permanentf is Permanent(fmt.Errorf(...)).
func Permanentf(format string, args ...any) error { return Permanent(fmt.Errorf(format, args...)) }

// IsPermanent reports whether err (or anything it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfterError asks the caller to wait before retrying (HTTP 429, Telegram retry_after).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// ErrNoSender is returned when a reply is asked for on a channel that cannot deliver one
// (the web form: the manager calls the customer back and marks the lead contacted).
var ErrNoSender = errors.New("this channel cannot deliver replies")

// Alerter raises an operational alert (an expired token, a logged-out WhatsApp device, a
// banned number) to the escalation target. The reason must not contain secrets or personal data.
type Alerter interface {
	Alert(ctx context.Context, channel, account, reason string) error
}
