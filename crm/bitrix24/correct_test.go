package bitrix24_test

import (
	"testing"

	"github.com/lidorub/lidorub/crm/bitrix24"
	"github.com/lidorub/lidorub/crm/crmtest"
	"github.com/lidorub/lidorub/router"
)

// A correction reaches the record in both modes: the value the connector created is changed
// in place by its ID, a cleared field's value deleted (ID with an empty VALUE), a field the
// record had no value of added; a lead not pushed yet needs no call.
func TestCorrectionUpdatesTheContactOrLead(t *testing.T) {
	for _, c := range []struct {
		entity, get, update, want string
	}{
		{"deal", "crm.contact.get", "crm.contact.update",
			`{"fields":{"EMAIL":[{"VALUE":"anna@example.com","VALUE_TYPE":"WORK"}],"NAME":"Анна Петрова","PHONE":[{"ID":"11","VALUE":"","VALUE_TYPE":"WORK"}]},"id":101}`},
		{"lead", "crm.lead.get", "crm.lead.update",
			`{"fields":{"EMAIL":[{"VALUE":"anna@example.com","VALUE_TYPE":"WORK"}],"NAME":"Анна Петрова","PHONE":[{"ID":"11","VALUE":"","VALUE_TYPE":"WORK"}]},"id":101}`},
	} {
		t.Run(c.entity, func(t *testing.T) {
			e := crmtest.New(t)
			f := crmtest.NewBitrix(t)
			cfg := bitrix24.Config{Enabled: true, WebhookURL: f.Hook, ApplicationToken: appToken, Entity: c.entity}
			cfg.TranscriptLimit = -1
			cfg.Defaults()
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			svc := bitrix24.New(cfg, e.Deps(bitrix24.Name)).Service()
			poll := func() {
				t.Helper()
				if _, err := svc.TimelineConsumer("").Poll(e.Ctx); err != nil {
					t.Fatal(err)
				}
			}
			e.Leads.Add(router.Conversation{ID: 7, Channel: "telegram", Name: "Анна", Phone: "+79035550101"})
			// corrected before the push: nothing to send
			e.Timeline(7, router.StageCorrected, "sue", map[string]string{"fields": "name"})
			poll()
			if n := len(f.Requests()); n != 0 {
				t.Fatalf("%d calls for a lead not pushed", n)
			}
			e.Timeline(7, router.StageHandedOff, "anna", nil)
			poll()
			e.Leads.Add(router.Conversation{ID: 7, Channel: "telegram", Name: "Анна Петрова", Email: "anna@example.com"})
			e.Timeline(7, router.StageCorrected, "sue", map[string]string{"fields": "name,phone,email"})
			poll()
			if b := f.Bodies("POST", c.get); len(b) != 1 || b[0] != `{"id":101}` {
				t.Errorf("%s: %v", c.get, b)
			}
			if b := f.Bodies("POST", c.update); len(b) != 1 || b[0] != c.want {
				t.Errorf("%s %v\nwant %s", c.update, b, c.want)
			}
		})
	}
}
