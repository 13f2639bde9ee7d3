package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/router"
)

// Every supervisor route answers a lead-manager 403 in JSON, does its work for a supervisor,
// and the action is in the audit log.
func TestSupervisorRoutes(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText) // 1: offered to anna
	e.customer("tg-second", "Second", "hello")  // 2
	e.online(borisTok, "boris")

	for _, c := range []struct {
		name, method, path, body string
		want                     int
		action                   string
	}{
		{"reassign", "POST", "/api/v1/conversations/1/reassign", `{"manager": "boris"}`, 200, router.AuditReassign},
		{"offline", "POST", "/api/v1/managers/anna/offline", "", 200, router.AuditOffline},
		{"close", "POST", "/api/v1/conversations/2/close", "", 200, router.AuditClose},
		{"dead letters", "GET", "/api/v1/deadletters", "", 200, ""},
		{"audit", "GET", "/api/v1/audit/actions", "", 200, ""},
		{"export", "GET", "/api/v1/contacts/telegram/" + custContact + "/export?account=shop", "", 200, router.AuditExport},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.as(annaTok, c.method, c.path, c.body)
			if c.name == "close" { // the lead-managers' own close: not theirs
				if r.status != http.StatusNotFound {
					t.Fatalf("a lead-manager closing another's lead: %s, want 404", r)
				}
			} else if r.status != http.StatusForbidden || r.errMsg(t) != "only a supervisor can do this" {
				t.Fatalf("a lead-manager: %s, want 403", r)
			}
			r = e.as(veraTok, c.method, c.path, c.body)
			if r.status != c.want {
				t.Fatalf("the supervisor: %s, want %d", r, c.want)
			}
			if c.action == "" {
				return
			}
			var log struct {
				Actions []router.AuditEntry `json:"actions"`
			}
			e.ok(veraTok, "GET", "/api/v1/audit/actions?limit=1", "", 200, &log)
			if len(log.Actions) != 1 || log.Actions[0].Action != c.action || log.Actions[0].By != "vera" {
				t.Fatalf("audit %+v, want %s by vera", log.Actions, c.action)
			}
		})
	}
	if c := e.conv(veraTok, 1); c.Conversation.OfferTo != "boris" {
		t.Fatalf("after reassign: %+v", c.Conversation)
	}
	if c := e.conv(veraTok, 2); c.Conversation.State != router.StateClosed {
		t.Fatalf("after a supervisor's close: %+v", c.Conversation)
	}

	// errors
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/v1/conversations/1/reassign", `{"manager": "vera"}`, 422},
		{"POST", "/api/v1/conversations/1/reassign", `{}`, 422},
		{"POST", "/api/v1/conversations/99/reassign", `{"manager": "boris"}`, 404},
		{"POST", "/api/v1/conversations/2/reassign", `{"manager": "boris"}`, 409},
		{"POST", "/api/v1/conversations/1/front", "", 409},
		{"POST", "/api/v1/conversations/2/close", "", 409},
		{"POST", "/api/v1/managers/nobody/offline", "", 404},
		{"POST", "/api/v1/conversations/1/outbound/c1-r9/resend", "", 409},
		{"POST", "/api/v1/deadletters/inbound/1-0/replay", "", 404},
		{"POST", "/api/v1/deadletters/nosuch/1-0/replay", "", 422},
		{"DELETE", "/api/v1/deadletters/outbound/1-0", "", 404},
		{"GET", "/api/v1/deadletters?limit=0", "", 400},
		{"GET", "/api/v1/contacts/export", "", 400},
		{"GET", "/api/v1/contacts/export?phone=12", "", 422},
		{"GET", "/api/v1/contacts/export?phone=%2B79990001122", "", 404},
		{"GET", "/api/v1/contacts/telegram/x/export", "", 400},
	} {
		if r := e.as(veraTok, c.method, c.path, c.body); r.status != c.want {
			t.Errorf("%s %s: %s, want %d", c.method, c.path, r, c.want)
		}
	}

	// the export carries the person's data; the erasure removes it
	var x router.ContactExport
	e.ok(veraTok, "GET", "/api/v1/contacts/telegram/"+custContact+"/export?account=shop", "", 200, &x)
	if len(x.Conversations) != 1 || x.Conversations[0].Conversation.Name != custName || x.Conversations[0].Transcript[0].Text != custText {
		t.Fatalf("export %+v", x)
	}
	if r := e.as(annaTok, "DELETE", "/api/v1/contacts/telegram/"+custContact+"?account=shop", ""); r.status != 403 {
		t.Fatalf("a lead-manager's erasure: %s", r)
	}
	var erased struct{ Erased []int64 }
	e.ok(veraTok, "DELETE", "/api/v1/contacts/telegram/"+custContact+"?account=shop", "", 200, &erased)
	if len(erased.Erased) != 1 || erased.Erased[0] != 1 {
		t.Fatalf("erased %+v", erased)
	}
	if r := e.as(veraTok, "GET", "/api/v1/contacts/telegram/"+custContact+"/export?account=shop", ""); r.status != 404 {
		t.Fatalf("export after erasure: %s", r)
	}
	var log struct {
		Actions []router.AuditEntry `json:"actions"`
	}
	e.ok(veraTok, "GET", "/api/v1/audit/actions", "", 200, &log)
	for _, a := range log.Actions {
		if strings.Contains(a.Detail+a.Manager+a.By, custContact) {
			t.Fatalf("the audit log holds a contact id: %+v", a)
		}
	}
	if log.Actions[0].Action != router.AuditErase || log.Actions[0].Lead != 1 {
		t.Fatalf("newest audit entry %+v, want the erasure of 1", log.Actions[0])
	}
}
