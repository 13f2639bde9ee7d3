package webhooks

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/lidorub/lidorub/router"
)

// Event types, one per timeline stage that is sent (router/sales_types.go Stage*).
const (
	LeadCreated   = "lead.created"
	LeadQualified = "lead.qualified"
	LeadHandedOff = "lead.handed_off"
	LeadAccepted  = "lead.accepted"
	LeadRejected  = "lead.rejected"
	LeadContacted = "lead.contacted"
	LeadWon       = "lead.won"
	LeadLost      = "lead.lost"
	LeadClosed    = "lead.closed"
	LeadUpdated   = "lead.updated"
)

// stageEvents maps timeline stages to event types; other stages are not sent.
var stageEvents = map[string]string{
	router.StageCreated:       LeadCreated,
	router.StageQualified:     LeadQualified,
	router.StageHandedOff:     LeadHandedOff,
	router.StageSalesAccepted: LeadAccepted,
	router.StageSalesRejected: LeadRejected,
	router.StageContacted:     LeadContacted,
	router.StageWon:           LeadWon,
	router.StageLost:          LeadLost,
	router.StageClosed:        LeadClosed,
	router.StageCorrected:     LeadUpdated,
}

// salesStages are the stages whose manager is the sales manager.
var salesStages = map[string]bool{
	router.StageSalesAccepted: true, router.StageSalesRejected: true, router.StageContacted: true,
	router.StageWon: true, router.StageLost: true,
}

// EventType returns the event type of a timeline stage, "" when the stage is not sent.
func EventType(stage string) string { return stageEvents[stage] }

// EventTypes lists every event type, in the order a lead normally passes them.
func EventTypes() []string {
	return []string{LeadCreated, LeadQualified, LeadHandedOff, LeadAccepted, LeadRejected,
		LeadContacted, LeadWon, LeadLost, LeadClosed, LeadUpdated}
}

// event is what the outbox keeps of one timeline entry: ids only, never personal data.
type event struct {
	Conv    int64
	Stage   string
	Manager string
	Extra   string // JSON object of strings, or ""
	At      time.Time
}

// Payload is the body of every delivery (Standard Webhooks: type, timestamp, data).
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"` // when the event happened (UTC)
	Data      Lead      `json:"data"`
}

// Lead is the data of every event: the lead as it is when the delivery is made, and what
// the event itself carried (stage, manager, amount, reason).
type Lead struct {
	ID             int64    `json:"id"`
	Channel        string   `json:"channel"`
	Name           string   `json:"name,omitempty"`
	Phone          string   `json:"phone,omitempty"`
	Email          string   `json:"email,omitempty"`
	Source         string   `json:"source,omitempty"`
	Qualification  string   `json:"qualification,omitempty"`    // hot, warm, tourist
	LeadManagerID  string   `json:"lead_manager_id,omitempty"`  // the lead-manager holding it
	SalesManagerID string   `json:"sales_manager_id,omitempty"` // the sales manager of a sales-tier event
	Amount         *float64 `json:"amount,omitempty"`           // lead.won
	Currency       string   `json:"currency,omitempty"`         // lead.won
	Reason         string   `json:"reason,omitempty"`           // lead.rejected, lead.lost: a configured reason id
	Stage          string   `json:"stage"`                      // the timeline stage (created, won, ...)
	Manager        string   `json:"manager,omitempty"`          // who did it
	Fields         []string `json:"fields,omitempty"`           // lead.updated: names of the corrected fields
}

// payload builds the body of ev for the lead c.
func payload(ev event, c *router.Conversation) Payload {
	// After a handoff the conversation's manager is the sales manager holding it (or nobody):
	// the lead-manager is the one who handed it off (router.Conversation.LeadManagerID).
	lm := c.LeadManagerID
	if lm == "" {
		lm = c.ManagerID
	}
	l := Lead{ID: c.ID, Channel: c.Channel, Name: c.Name, Phone: c.Phone, Email: c.Email, Source: c.Source,
		Qualification: c.Qualification, LeadManagerID: lm, SalesManagerID: c.SalesManagerID, Stage: ev.Stage, Manager: ev.Manager}
	if salesStages[ev.Stage] && ev.Manager != "" {
		// what the event carried: the sales manager who accepted, rejected, contacted or
		// recorded the outcome (the lead may be with another one by the time of delivery)
		l.SalesManagerID = ev.Manager
		// An outcome a CRM connector reported (manager amocrm, bitrix24) or a supervisor
		// corrected is still the holding sales manager's.
		if (ev.Stage == router.StageWon || ev.Stage == router.StageLost) && c.SalesManagerID != "" {
			l.SalesManagerID = c.SalesManagerID
		}
	}
	var x map[string]any
	if ev.Extra != "" && json.Unmarshal([]byte(ev.Extra), &x) == nil {
		str := func(k string) string {
			switch v := x[k].(type) {
			case string:
				return v
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64)
			}
			return ""
		}
		if a, err := strconv.ParseFloat(str("amount"), 64); err == nil {
			l.Amount = &a
		}
		l.Currency = str("currency")
		l.Reason = str("reason")
		if ev.Stage == router.StageCorrected {
			switch f := x["fields"].(type) {
			case []any:
				for _, v := range f {
					if s, ok := v.(string); ok {
						l.Fields = append(l.Fields, s)
					}
				}
			case string:
				l.Fields = splitFields(f)
			}
		}
	}
	return Payload{Type: EventType(ev.Stage), Timestamp: ev.At.UTC(), Data: l}
}

// splitFields splits "name,phone" into its names.
func splitFields(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' || s[i] == ' ' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
