package webhooks

import (
	"testing"
	"time"

	"github.com/lidorub/lidorub/router"
)

// TestPayloadManagers: once handed off, lead_manager_id is the lead-manager who handed the
// lead off (not the sales manager now holding it), and sales_manager_id comes from the
// conversation, or from the event for a sales-tier stage.
func TestPayloadManagers(t *testing.T) {
	handed := &router.Conversation{ID: 7, ManagerID: "sam", LeadManagerID: "anna", SalesManagerID: "sam"}
	requeued := &router.Conversation{ID: 7, LeadManagerID: "anna", SalesManagerID: "sid"}
	tier1 := &router.Conversation{ID: 7, ManagerID: "anna"}
	for _, tc := range []struct {
		name      string
		c         *router.Conversation
		ev        event
		lm, sales string
	}{
		{"first tier", tier1, event{Stage: router.StageQualified, Manager: "anna"}, "anna", ""},
		{"handed off, accepted", handed, event{Stage: router.StageSalesAccepted, Manager: "sam"}, "anna", "sam"},
		{"handed off, not a sales stage", handed, event{Stage: router.StageCRM}, "anna", "sam"},
		{"rejected, offered to another since", requeued, event{Stage: router.StageSalesRejected, Manager: "sam"}, "anna", "sam"},
		{"handed off (qualified), offered since", requeued, event{Stage: router.StageHandedOff, Manager: "anna"}, "anna", "sid"},
	} {
		tc.ev.At = time.Unix(0, 0)
		d := payload(tc.ev, tc.c).Data
		if d.LeadManagerID != tc.lm || d.SalesManagerID != tc.sales {
			t.Errorf("%s: lead_manager_id %q sales_manager_id %q, want %q %q", tc.name, d.LeadManagerID, d.SalesManagerID, tc.lm, tc.sales)
		}
	}
}
