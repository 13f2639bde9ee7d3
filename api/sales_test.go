package api_test

import (
	"testing"

	"github.com/lidorub/lidorub/router"
)

const (
	sashaTok = "sasha-token-7e5c3a1f9d"
	semaTok  = "sema-token-4b2d6f8a0e"
)

func newSalesEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvWith(t, []router.Manager{
		{ID: "sasha", Role: router.RoleSales, Token: sashaTok, Capacity: 3},
		{ID: "sema", Role: router.RoleSales, Token: semaTok, Capacity: 3},
	}, &router.SalesConfig{AllowManualPick: true})
	e.online(annaTok, "anna")
	e.online(sashaTok, "sasha")
	e.online(semaTok, "sema")
	return e
}

// handedOff brings a lead to anna and hands it off with a note; returns the conversation.
func (e *env) handedOff(contact string) router.Conversation {
	e.t.Helper()
	e.customer(contact, custName, custText)
	offers := e.list(annaTok, "anna").Offers
	if len(offers) != 1 {
		e.t.Fatalf("anna has %d offers", len(offers))
	}
	id := itoa(offers[0].ID)
	e.ok(annaTok, "POST", "/api/v1/conversations/"+id+"/accept", "", 200, nil)
	var v struct{ Conversation router.Conversation }
	e.ok(annaTok, "POST", "/api/v1/conversations/"+id+"/qualify", `{"level": "hot", "note": "wants a quote"}`, 200, &v)
	e.settle()
	return v.Conversation
}

func TestSalesAPI(t *testing.T) {
	e := newSalesEnv(t)
	c := e.handedOff("c1")
	id := itoa(c.ID)
	if c.SalesOfferTo != "sasha" || c.HandoffNote != "wants a quote" || c.LeadManagerID != "anna" {
		t.Fatalf("handoff: offer to %q, note %q, lm %q", c.SalesOfferTo, c.HandoffNote, c.LeadManagerID)
	}
	// sasha sees the offered lead; sema does not
	e.ok(sashaTok, "GET", "/api/v1/conversations/"+id, "", 200, nil)
	if r := e.as(semaTok, "GET", "/api/v1/conversations/"+id, ""); r.status != 404 {
		t.Errorf("sema reads sasha's offer: %s", r)
	}
	for _, tc := range []struct {
		name, tok, path, body string
		want                  int
	}{
		{"a lead-manager cannot accept", annaTok, "/sales/accept", "", 403},
		{"not offered to sema", semaTok, "/sales/accept", "", 404},
		{"unknown reason", sashaTok, "/sales/reject", `{"reason": "bored"}`, 422},
		{"outcome before accepting", sashaTok, "/outcome", `{"result": "won"}`, 404},
		{"bad result", sashaTok, "/outcome", `{"result": "maybe"}`, 422},
		{"pick by a lead-manager", annaTok, "/sales/pick", `{"sales_manager": "sema"}`, 403},
		{"pick of a non-sales manager", veraTok, "/sales/pick", `{"sales_manager": "anna"}`, 422},
		{"unknown field", sashaTok, "/sales/reject", `{"why": "x"}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.as(tc.tok, "POST", "/api/v1/conversations/"+id+tc.path, tc.body)
			if r.status != tc.want {
				t.Fatalf("%s, want %d", r, tc.want)
			}
			r.errMsg(t)
		})
	}
	var v struct{ Conversation router.Conversation }
	e.ok(veraTok, "POST", "/api/v1/conversations/"+id+"/sales/pick", `{"sales_manager": "sema"}`, 200, &v)
	if v.Conversation.SalesOfferTo != "sema" {
		t.Fatalf("pick: offer to %q", v.Conversation.SalesOfferTo)
	}
	e.ok(semaTok, "POST", "/api/v1/conversations/"+id+"/sales/accept", "", 200, &v)
	e.ok(semaTok, "POST", "/api/v1/conversations/"+id+"/sales/contacted", "", 200, &v)
	if v.Conversation.SalesState != router.SalesContacted {
		t.Fatalf("contacted: %q", v.Conversation.SalesState)
	}
	e.ok(semaTok, "POST", "/api/v1/conversations/"+id+"/outcome", `{"result": "won", "amount": 1500}`, 200, &v)
	if v.Conversation.Outcome != "won" || v.Conversation.Amount != 1500 || v.Conversation.Currency != "RUB" {
		t.Fatalf("outcome: %+v", v.Conversation)
	}
	if r := e.as(semaTok, "POST", "/api/v1/conversations/"+id+"/outcome", `{"result": "lost", "reason": "price"}`); r.status != 409 {
		t.Errorf("a second outcome by the sales manager: %s", r)
	}
	e.ok(veraTok, "POST", "/api/v1/conversations/"+id+"/outcome", `{"result": "lost", "reason": "price"}`, 200, &v)
	if v.Conversation.Outcome != "lost" || v.Conversation.LossReason != "price" {
		t.Fatalf("correction: %+v", v.Conversation)
	}

	// a "not a lead" rejection sends the next lead back to anna
	c2 := e.handedOff("c2")
	id2 := itoa(c2.ID)
	var rej struct{ Status string }
	e.ok(tokOf(c2.SalesOfferTo), "POST", "/api/v1/conversations/"+id2+"/sales/reject", `{"reason": "not_a_real_lead"}`, 200, &rej)
	e.ok(annaTok, "GET", "/api/v1/conversations/"+id2, "", 200, &v)
	if rej.Status != "rejected" || v.Conversation.SalesState != router.SalesReturned || v.Conversation.ManagerID != "anna" {
		t.Fatalf("after the rejection: %q, %q with %q", rej.Status, v.Conversation.SalesState, v.Conversation.ManagerID)
	}
}

func tokOf(id string) string {
	if id == "sema" {
		return semaTok
	}
	return sashaTok
}
