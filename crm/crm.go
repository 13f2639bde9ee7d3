// Package crm is what the CRM connectors (crm/amocrm, crm/bitrix24) share: the push of a lead
// to the CRM when its timeline reaches the trigger stage (a consumer group per connector on
// the {P}:timeline stream), the mapping lead ↔ CRM record kept in Redis, the durable queue of
// inbound CRM webhooks with its worker, the reconciliation pass that reads recently changed
// records so a lost webhook never loses an outcome, and the connectors' metrics.
//
// Delivery is at least once and idempotent both ways:
//
//   - a timeline entry is acknowledged only after the CRM accepted the record and its id is
//     stored (link.lua); a retried entry finds the id and creates nothing; each attempt claims
//     the lead first (claim.lua: one attempt at a time across instances), and after an attempt
//     that failed or died (its answer may have been lost) the next one first asks the CRM for
//     a record made for that lead (Connector.Find) before creating one;
//   - an inbound status is applied once per (record id, status): {P}:crm:<name>:seen:<id>.
//
// Corrections: a corrected stage (the customer asked to correct their name, phone or e-mail)
// of a lead whose record exists sends the corrected fields to the CRM (Connector.Update); a
// lead not pushed yet needs nothing, its push reads the corrected data.
//
// Privacy: no personal data is queued. The timeline stream and the inbound queue carry ids,
// statuses and amounts only; the contact's name, phone, e-mail and transcript are read from
// the conversation at the moment of the push, so a lead erased before the push is not sent
// (its entry is acknowledged and dropped). The mapping lead → CRM id is not personal data;
// Service.Forget removes it with the lead.
package crm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lidorub/lidorub/router"
)

// Leads is what the connectors need from the router. *router.Router provides Conversation,
// Transcript and RecordOutcome (router.SalesDesk); RecordCRM appends a StageCRM entry (Extra
// crm, id, status) to the lead's timeline.
type Leads interface {
	Conversation(ctx context.Context, convID int64) (*router.Conversation, error)
	Transcript(ctx context.Context, convID int64, limit int) ([]router.Message, error)
	// RecordOutcome is called with managerID "" and o.Source set to the connector's name.
	RecordOutcome(ctx context.Context, convID int64, managerID string, o router.Outcome) error
	// RecordCRM records a CRM record or a CRM status that is not an outcome on the lead's
	// timeline (stage crm).
	RecordCRM(ctx context.Context, convID int64, crm, id, status string) error
}

// Alerter raises an operational alert (channels.Alerter; *router.Router implements it).
type Alerter interface {
	Alert(ctx context.Context, channel, account, reason string) error
}

// Lead is what a connector sends to its CRM for one conversation.
type Lead struct {
	ConvID        int64
	Title         string // "<title_prefix> #<conversation id>": Connector.Find looks for it
	Name          string
	Phone         string // E.164 when known
	Email         string
	Channel       string
	Source        string            // the conversation's source (a form's name), else the channel
	UTM           map[string]string // utm_source, utm_medium, utm_campaign, utm_content, utm_term from the conversation's meta
	Qualification string
	Manager       string // the lidorub manager of the trigger entry ("" on created)
	Responsible   int64  // the CRM user: users[Manager], else default_user (0: none)
	CreatedAt     time.Time
	// Retry: an earlier attempt was sent and its answer not stored, so part of the record may
	// exist (a Bitrix24 contact made before its deal failed): the connector may look for it.
	Retry bool
}

// Status is a CRM record's state as read from a webhook or the API.
type Status struct {
	ID       string  // the CRM record id
	Status   string  // the CRM's own status or stage id
	Result   string  // router.OutcomeWon, router.OutcomeLost or "" (another status)
	Amount   float64 // won
	Currency string  // won; "" = the connector's configured currency
	Reason   string  // lost: a lidorub loss reason id ("" = the configured default)
}

// Connector is one CRM's client.
type Connector interface {
	// Name is the connector's name: amocrm or bitrix24 (keys, metrics, Outcome.Source).
	Name() string
	// Create makes the CRM record (with its contact) and returns its id.
	Create(ctx context.Context, l Lead) (string, error)
	// Find returns the id of a record an earlier attempt made for lead l ("" if none), when a
	// previous Create's answer was lost.
	Find(ctx context.Context, l Lead) (string, error)
	// Note adds text (the transcript) to the record.
	Note(ctx context.Context, id, text string) error
	// Resolve turns a queued inbound item (the fields a webhook handler enqueued) into the
	// record's status, reading the CRM where the webhook does not carry enough.
	Resolve(ctx context.Context, item map[string]string) (Status, error)
	// Changed lists the records changed since t (reconciliation).
	Changed(ctx context.Context, since time.Time) ([]Status, error)
	// Assign makes CRM user the record's responsible user (a sales manager accepted the lead).
	Assign(ctx context.Context, id string, user int64) error
	// Update sends the corrected fields (FieldName, FieldPhone, FieldEmail) of lead l, as
	// the conversation holds them now, to the contact of record id: the customer asked to
	// correct their data. A field l holds empty was cleared.
	Update(ctx context.Context, id string, l Lead, fields []string) error
}

// The contact fields a correction names (router's corrected stage, Extra fields).
const (
	FieldName  = "name"
	FieldPhone = "phone"
	FieldEmail = "email"
)

// ErrorKind classifies a CRM call's failure.
type ErrorKind int

const (
	// Temporary: a network error, a timeout, a 5xx: retried.
	Temporary ErrorKind = iota
	// Throttled: 429 or the CRM's rate-limit error: the connector pauses (RetryAfter or an
	// increasing backoff) and retries.
	Throttled
	// Unauthorized: the token was refused (401, expired_token, INVALID_CREDENTIALS): an alert
	// is raised and the connector pauses for retry_interval; nothing is dropped.
	Unauthorized
	// Permanent: the CRM rejected the request (a validation error): retried up to
	// max_attempts, then dead-lettered for an operator to look at.
	Permanent
)

func (k ErrorKind) String() string {
	switch k {
	case Throttled:
		return "throttled"
	case Unauthorized:
		return "unauthorized"
	case Permanent:
		return "permanent"
	}
	return "temporary"
}

// Error is a failed CRM call. Its text has the HTTP status and the CRM's error code, never a
// token or personal data.
type Error struct {
	Kind       ErrorKind
	Status     int           // HTTP status (0: none)
	Code       string        // the CRM's error code, when it gave one
	RetryAfter time.Duration // Throttled: what the CRM asked for (0: unknown)
	Err        error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("crm %s error", e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns err's ErrorKind (Temporary for an error that is not an *Error).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Temporary
}

// ErrInFlight is returned while another attempt (another instance) creates the same lead's
// record; the entry is retried later.
var ErrInFlight = errors.New("another attempt is creating this lead's CRM record")

// ErrPaused is returned while the connector waits after a throttled or unauthorized answer.
var ErrPaused = errors.New("crm connector paused after a throttled or unauthorized answer")
