package router

import (
	"context"
	"errors"
	"time"
)

// The second tier (sales managers) and the lead timeline: the shared vocabulary of the
// router, the API, the staff bot, the funnel report, the fairness ledger and the CRM
// connectors. See README "The sales tier".

// RoleSales is the role of a second-tier (sales) manager: receives handed-off leads.
const RoleSales = "sales"

// Sales states of a handed-off lead (conversation field sstate).
const (
	SalesQueued    = "queued"    // handed off, waiting for a sales manager
	SalesOffered   = "offered"   // offered to a sales manager (field smgr), not yet accepted
	SalesAccepted  = "accepted"  // accepted by smgr; first_contact runs
	SalesContacted = "contacted" // smgr reached the customer
	SalesWon       = "won"
	SalesLost      = "lost"
	SalesReturned  = "returned" // rejected as not a real lead: back with the lead-manager who qualified it
)

// Outcome results.
const (
	OutcomeWon  = "won"
	OutcomeLost = "lost"
)

// Timeline stages (TimelineEntry.Stage); in the order a lead normally passes them.
const (
	StageCreated        = "created"         // first customer message
	StageOffered        = "offered"         // offered to a lead-manager (Manager)
	StageOfferLapsed    = "offer_lapsed"    // the lead-manager let it lapse or passed
	StageAccepted       = "accepted"        // a lead-manager took it
	StageReplied        = "replied"         // first human reply delivered (or marked contacted)
	StageReleased       = "released"        // taken back from a lead-manager (no first reply in time, offline)
	StageEscalated      = "escalated"       // max_offers reached
	StageQualified      = "qualified"       // Extra level: hot | warm | tourist
	StageHandedOff      = "handed_off"      // passed to sales; Extra note_set 1 when a note was given
	StageSalesOffered   = "sales_offered"   // offered to a sales manager (Manager); Extra ledger seq
	StageSalesLapsed    = "sales_lapsed"    // the sales manager did not accept within accept_timeout
	StageSalesAccepted  = "sales_accepted"  // a sales manager accepted
	StageSalesRejected  = "sales_rejected"  // Extra reason (a configured rejection reason id)
	StageReturned       = "returned"        // back to the lead-manager (a "not a lead" rejection)
	StageContacted      = "contacted"       // the sales manager reached the customer
	StageContactBreach  = "contact_breach"  // first_contact SLA missed
	StageWon            = "won"             // Extra amount, currency
	StageLost           = "lost"            // Extra reason (a configured loss reason id)
	StageOutcomeChanged = "outcome_changed" // a supervisor corrected the outcome; Extra from, to
	StageCRM            = "crm"             // Extra crm (amocrm | bitrix24), id, status: a CRM record or status
	StageClosed         = "closed"          // Extra unanswered 1 when no human ever answered
	StageCorrected      = "corrected"       // contact data corrected; Extra fields (names only)
)

// TimelineEntry is one stage of a lead's timeline ({P}:conv:<id>:tl, also appended to the
// {P}:timeline stream for consumers such as webhooks and CRM connectors). It holds ids,
// levels, reasons and amounts, never personal data.
type TimelineEntry struct {
	Stage   string            `json:"stage"`
	At      time.Time         `json:"at"`
	Manager string            `json:"manager,omitempty"` // who held or did it
	Extra   map[string]string `json:"extra,omitempty"`
}

// Outcome is what a sales manager (or a supervisor correcting it, or a CRM connector)
// records for a handed-off lead.
type Outcome struct {
	Result   string  `json:"result"`             // won | lost
	Amount   float64 `json:"amount,omitempty"`   // won: deal amount
	Currency string  `json:"currency,omitempty"` // won: ISO 4217, default sales.currency
	Reason   string  `json:"reason,omitempty"`   // lost: a configured loss reason id
	// Source: "" (the manager's own action), or a connector name ("amocrm", "bitrix24")
	// with its record id in External.
	Source   string `json:"source,omitempty"`
	External string `json:"external,omitempty"`
}

// SalesDesk is what the second tier does, through the staff bot and the API. *Router
// implements it (see desk_sales.go).
type SalesDesk interface {
	// Handoff qualifies a lead assigned to lead-manager managerID (like Qualify) with an
	// optional note for sales; a handing-off level (sales.handoff_levels) takes it off the
	// lead-manager's load and offers it to a sales manager chosen by sales.strategy.
	Handoff(ctx context.Context, convID int64, managerID, level, note string) error
	// SalesAccept: the sales manager offered the lead takes it.
	SalesAccept(ctx context.Context, convID int64, managerID string) error
	// SalesReject: the sales manager offered (or holding) the lead rejects it with a configured
	// reason id; "not a lead" reasons send it back to the lead-manager who qualified it.
	SalesReject(ctx context.Context, convID int64, managerID, reason string) error
	// SalesContacted: the sales manager reached the customer (writing to them through the
	// gateway does this too).
	SalesContacted(ctx context.Context, convID int64, managerID string) error
	// RecordOutcome records won or lost. The sales manager holding the lead may record it
	// once; a supervisor (or a CRM connector, by "" with Source set) may correct it later,
	// the history kept on the timeline.
	RecordOutcome(ctx context.Context, convID int64, managerID string, o Outcome) error
	// PickSales hands a lead to a chosen sales manager (supervisors, when
	// sales.allow_manual_pick); flagged as manual in the ledger.
	PickSales(ctx context.Context, convID int64, managerID, salesID string) error
	// Timeline is a lead's stages, oldest first.
	Timeline(ctx context.Context, convID int64) ([]TimelineEntry, error)
}

// ErrNotImplemented is returned by parts of the sales tier not built yet.
var ErrNotImplemented = errors.New("not implemented")
