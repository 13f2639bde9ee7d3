package router

import (
	"context"
	"time"
)

// Ops is what a supervisor sees and does across the whole team (the console and the
// supervisor API are its clients). *Router implements it: the reads in ops_read.go, the
// actions in ops_actions.go. Every action is recorded on the {P}:audit stream (ids only) and,
// for a lead, on its timeline.
type Ops interface {
	// Queue is every waiting or offered first-tier lead and every queued or offered
	// handed-off lead, oldest first.
	Queue(ctx context.Context) ([]Conversation, error)
	// Team is every configured manager (lead, sales, supervisor) with state and load.
	Team(ctx context.Context) ([]ManagerView, error)
	ForceOffline(ctx context.Context, supervisorID, managerID string) error
	// Reassign offers a lead to a chosen lead-manager at once (taking it from its holder).
	Reassign(ctx context.Context, supervisorID string, convID int64, toManager string) error
	// MoveToFront puts a waiting lead at the head of the queue.
	MoveToFront(ctx context.Context, supervisorID string, convID int64) error
	// CloseLead closes a lead without the polite-close text.
	CloseLead(ctx context.Context, supervisorID string, convID int64) error
	// DeadLetters lists the dead-lettered entries of every stream (newest first, at most limit).
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	ReplayDeadLetter(ctx context.Context, supervisorID, stream, id string) error
	DiscardDeadLetter(ctx context.Context, supervisorID, stream, id string) error
	// Resend queues a failed outbound message again.
	Resend(ctx context.Context, supervisorID string, convID int64, outboundID string) error
	// AuditLog is the supervisor actions, newest first.
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
}

// DeadLetter is one dead-lettered stream entry. Fields are shown to supervisors only.
type DeadLetter struct {
	Stream     string            `json:"stream"` // the source stream's short name: inbound, outbound, events, fired, ...
	ID         string            `json:"id"`
	At         time.Time         `json:"at"`
	Deliveries int64             `json:"deliveries,omitempty"`
	Error      string            `json:"error,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
}

// AuditEntry is one supervisor action.
type AuditEntry struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	Action  string    `json:"action"`
	Lead    int64     `json:"lead,omitempty"`
	Manager string    `json:"manager,omitempty"`
	Detail  string    `json:"detail,omitempty"` // ids, never personal data
}
