package staffbot_test

import (
	"strings"
	"testing"
)

// TestSalesWaitingLeadStaysWithLeadManager: while the handed-off lead waits for the sales
// manager to accept, the customer's message is shown to the lead-manager who handed it off,
// and their answer (a reply to that message) reaches the customer.
func TestSalesWaitingLeadStaysWithLeadManager(t *testing.T) {
	w := salesWorld(t, "")
	w.handOff(t, w.takenLead(t, "Бали?", "На двоих", "Да, конечно."), "")
	n := len(w.srv.Calls(""))
	w.customerSays("Вы тут?")
	w.pump()
	var fwd int
	for _, c := range w.since(n) {
		if c.Method == "sendMessage" && c.ChatID() == anna && strings.Contains(c.Params.Get("text"), "Вы тут?") {
			fwd = c.MessageID
		}
		if c.ChatID() == sveta && strings.Contains(c.Params.Get("text"), "Вы тут?") && c.Method == "sendMessage" {
			t.Errorf("sveta, not yet accepting, got the customer's message")
		}
	}
	if fwd == 0 {
		t.Fatalf("anna did not see the customer's message: %q", w.seen(t, w.since(n), anna))
	}
	before := len(w.customerReplies())
	w.managerSays(anna, "Эксперт позвонит вам в течение часа.", fwd)
	w.pump()
	got := w.customerReplies()
	if len(got) != before+1 || got[len(got)-1].Params.Get("text") != "Эксперт позвонит вам в течение часа." {
		t.Fatalf("anna's answer did not reach the customer: %d replies, seen %q", len(got)-before, w.seen(t, w.since(n), anna))
	}
}
