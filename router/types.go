package router

import (
	"context"
	"errors"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// Conversation states.
const (
	StateWaiting  = "waiting"  // in the queue, nobody offered
	StateOffered  = "offered"  // offered to OfferTo, not yet accepted
	StateAssigned = "assigned" // accepted by ManagerID
	StateClosed   = "closed"
)

// Qualification levels set by a lead-manager.
const (
	QualHot     = "hot"
	QualWarm    = "warm"
	QualTourist = "tourist"
)

// Conversation is one contact on one channel, from the first message to closing.
type Conversation struct {
	ID            int64             `json:"id"`
	Channel       string            `json:"channel"`
	Account       string            `json:"account,omitempty"`
	ContactID     string            `json:"contact_id"`
	Name          string            `json:"name,omitempty"`
	Phone         string            `json:"phone,omitempty"`
	Email         string            `json:"email,omitempty"`
	Source        string            `json:"source,omitempty"`
	State         string            `json:"state"`
	Priority      int               `json:"priority"`
	Tags          []string          `json:"tags,omitempty"`
	Spam          bool              `json:"spam,omitempty"`
	Qualification string            `json:"qualification,omitempty"` // hot, warm, tourist
	HandedOff     bool              `json:"handed_off,omitempty"`    // qualified hot/warm: passed to sales
	ManagerID     string            `json:"manager_id,omitempty"`    // assigned lead-manager
	OfferTo       string            `json:"offer_to,omitempty"`      // current offer (state offered)
	OfferSeq      int64             `json:"offer_seq"`               // increases with every offer; stale timers/buttons compare it
	Offers        int               `json:"offers"`                  // offers made so far
	Escalated     bool              `json:"escalated,omitempty"`
	Replied       bool              `json:"replied"` // a human answered (or marked a form lead contacted)
	Meta          map[string]string `json:"meta,omitempty"`

	FirstInboundAt time.Time `json:"first_inbound_at,omitzero"`
	LastInboundAt  time.Time `json:"last_inbound_at,omitzero"`
	FirstOfferAt   time.Time `json:"first_offer_at,omitzero"`
	OfferedAt      time.Time `json:"offered_at,omitzero"`
	AcceptedAt     time.Time `json:"accepted_at,omitzero"`
	FirstReplyAt   time.Time `json:"first_reply_at,omitzero"` // first human reply delivered
	ClosedAt       time.Time `json:"closed_at,omitzero"`

	// The sales tier (README "The sales tier"): set once a lead is handed off.
	LeadManagerID   string    `json:"lead_manager_id,omitempty"`  // the lead-manager who handed it off
	SalesState      string    `json:"sales_state,omitempty"`      // Sales* states
	SalesManagerID  string    `json:"sales_manager_id,omitempty"` // offered to or holding it
	SalesOfferTo    string    `json:"sales_offer_to,omitempty"`   // current sales offer (sales_state offered)
	SalesOfferSeq   int64     `json:"sales_offer_seq,omitempty"`  // increases with every sales offer
	SalesOffers     int       `json:"sales_offers,omitempty"`     // sales offers made so far
	HandoffNote     string    `json:"handoff_note,omitempty"`     // the lead-manager's note for sales
	HandedOffAt     time.Time `json:"handed_off_at,omitzero"`
	SalesAcceptedAt time.Time `json:"sales_accepted_at,omitzero"`
	ContactedAt     time.Time `json:"contacted_at,omitzero"`
	Outcome         string    `json:"outcome,omitempty"` // won | lost
	Amount          float64   `json:"amount,omitempty"`
	Currency        string    `json:"currency,omitempty"`
	LossReason      string    `json:"loss_reason,omitempty"`

	// Lead card context (filled by Desk.Conversation where known).
	Explanation []string          `json:"explanation,omitempty"` // why qualification decided as it did, one sentence per matched rule
	PreChat     map[string]string `json:"prechat,omitempty"`     // answers to the pre-chat questions (question id -> answer)
	Previous    []PreviousLead    `json:"previous,omitempty"`    // earlier conversations of the same contact, newest first

	contactHash, phoneHash, emailHash string // pseudonyms naming the contact indexes (see contacts.go)
}

// PreviousLead is an earlier conversation of the same contact (same channel account and
// contact id, or the same phone or e-mail), shown on the lead card of a returning customer.
type PreviousLead struct {
	ID            int64     `json:"id"`
	Channel       string    `json:"channel"`
	State         string    `json:"state"`
	Qualification string    `json:"qualification,omitempty"`
	Outcome       string    `json:"outcome,omitempty"` // won, lost: set once the sales tier records one
	ManagerID     string    `json:"manager_id,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	ClosedAt      time.Time `json:"closed_at,omitzero"`
}

// Message is one transcript line.
type Message struct {
	Dir         string                `json:"dir"`  // "in" (customer) or "out"
	Kind        string                `json:"kind"` // message, edit, reaction; auto_ack, off_hours, reply, close; note
	ManagerID   string                `json:"manager_id,omitempty"`
	Text        string                `json:"text,omitempty"`
	Attachments []channels.Attachment `json:"attachments,omitempty"`
	ID          string                `json:"id,omitempty"` // channel message id (in) or outbound id (out)
	At          time.Time             `json:"at"`
	Edited      bool                  `json:"edited,omitempty"`  // the customer edited it: Text/Attachments are the new version
	Deleted     bool                  `json:"deleted,omitempty"` // the customer deleted it: its content is gone
	// Note is a note's text as a catalogue message (locale.Msg.Encode), for showing it in the
	// reader's language; Text is its English rendering.
	Note string `json:"note,omitempty"`
}

// Event types delivered to Notifiers.
const (
	EventOffer           = "offer"            // ManagerID is offered the conversation
	EventOfferWithdrawn  = "offer_withdrawn"  // the offer to ManagerID ended: Reason lapsed | taken | passed | offline
	EventAssigned        = "assigned"         // ManagerID accepted
	EventReleased        = "released"         // ManagerID lost an assigned conversation: Reason no_reply | offline
	EventCustomerMessage = "customer_message" // a new customer message for the assigned ManagerID (Message set)
	EventEscalation      = "escalation"       // nobody took it after max_offers, Reason says why
	EventSendFailure     = "send_failure"     // a reply by ManagerID could not be delivered; Reason is safe to show
	EventClosed          = "closed"           // conversation closed (by ManagerID)
)

// Event is something a lead-manager (or the supervisors) must be told. Events come from the
// events stream: delivered at least once, so notifiers must tolerate repeats (use OfferSeq
// and ID to recognise them).
type Event struct {
	ID             string        `json:"id"` // events stream entry id
	Type           string        `json:"type"`
	ConversationID int64         `json:"conversation_id"`
	ManagerID      string        `json:"manager_id,omitempty"`
	OfferSeq       int64         `json:"offer_seq,omitempty"`
	Reason         string        `json:"reason,omitempty"`
	Message        *Message      `json:"message,omitempty"`
	At             time.Time     `json:"at"`
	Conversation   *Conversation `json:"conversation,omitempty"` // snapshot read when the event is dispatched
}

// Notifier tells lead-managers about events (the Telegram staff bot implements it).
// Notify may be called more than once for one event; an error makes it retried later.
type Notifier interface {
	Notify(ctx context.Context, ev Event) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, ev Event) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, ev Event) error { return f(ctx, ev) }

// ManagerView is what a lead-manager sees of their own work.
type ManagerView struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Online        bool           `json:"online"`
	OnShift       bool           `json:"on_shift"`
	Load          int            `json:"load"` // open conversations (offered + assigned)
	Capacity      int            `json:"capacity"`
	Offers        []Conversation `json:"offers"`
	Conversations []Conversation `json:"conversations"`
	QueueLength   int64          `json:"queue_length"`
}

// Desk is what a lead-manager (or a supervisor) can do. The HTTP agent API and the Telegram
// staff bot are its clients and depend on nothing else of the router; *Router implements it
// (it embeds the desk component).
type Desk interface {
	SetOnline(ctx context.Context, managerID string, online bool) error
	Accept(ctx context.Context, convID int64, managerID string) error
	Pass(ctx context.Context, convID int64, managerID string) error
	// Reply queues a human reply to the customer and returns the outbound id.
	Reply(ctx context.Context, convID int64, managerID, text string, atts []channels.Attachment) (string, error)
	// MarkContacted records that the manager reached the customer off-channel (a form lead called back).
	MarkContacted(ctx context.Context, convID int64, managerID string) error
	// Qualify sets hot, warm or tourist. A tourist is sent the polite-close template and closed.
	Qualify(ctx context.Context, convID int64, managerID, level string) error
	Close(ctx context.Context, convID int64, managerID string) error
	Conversation(ctx context.Context, convID int64) (*Conversation, error)
	Transcript(ctx context.Context, convID int64, limit int) ([]Message, error)
	Manager(ctx context.Context, managerID string) (*ManagerView, error)
	// ManagerByTelegramID finds a configured manager by Telegram user id ("" if none).
	ManagerByTelegramID(tgUserID int64) string
	// ManagerByToken finds a configured manager by API bearer token ("" if none).
	ManagerByToken(token string) string
	// Role returns a configured manager's role ("" if unknown).
	Role(managerID string) string
	// Erase deletes a conversation at the customer's request (supervisors only).
	Erase(ctx context.Context, convID int64, managerID string) error
	// CorrectContact corrects a contact's name, phone or e-mail in every conversation of it
	// (supervisors; a lead-manager for a contact with a conversation assigned to them).
	CorrectContact(ctx context.Context, ref ContactRef, managerID string, c ContactCorrection) (*Corrected, error)
	SalesDesk
}

// Errors returned by Desk methods (the API maps them to 404, 403, 409, 422).
var (
	ErrNotFound       = errors.New("no such conversation")
	ErrUnknownManager = errors.New("no such manager")
	ErrNotYours       = errors.New("the conversation is not offered or assigned to you")
	ErrConflict       = errors.New("the conversation is not in a state that allows this")
	ErrInvalid        = errors.New("invalid request")
	ErrForbidden      = errors.New("not allowed")
)
