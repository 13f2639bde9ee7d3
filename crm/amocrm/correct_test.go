package amocrm_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/crm/amocrm"
	"github.com/lidorub/lidorub/crm/crmtest"
	"github.com/lidorub/lidorub/router"
)

// A correction patches the lead's main contact: the corrected fields only, a cleared e-mail as
// values null; a correction arriving while the record is being created is left pending and
// retried (the attempt may have read the old data).
func TestCorrectionPatchesTheMainContact(t *testing.T) {
	e := crmtest.New(t)
	f := crmtest.NewAmo(t)
	cfg := amocrm.Config{Enabled: true, BaseURL: f.Srv.URL, Token: "tok", WebhookSecret: "0123456789abcdef"}
	cfg.TranscriptLimit = -1
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	svc := amocrm.New(cfg, e.Deps(amocrm.Name)).Service()
	poll := func() {
		t.Helper()
		if _, err := svc.TimelineConsumer("").Poll(e.Ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.Leads.Add(router.Conversation{ID: 7, Channel: "telegram", Name: "Анна", Phone: "+79035550101", Email: "a@exampel.com"})
	e.Timeline(7, router.StageHandedOff, "anna", nil)
	poll()
	e.Leads.Add(router.Conversation{ID: 7, Channel: "telegram", Name: "Анна", Phone: "+79035550102"})
	e.Timeline(7, router.StageCorrected, "sue", map[string]string{"fields": "phone,email"})
	poll()
	want := `{"custom_fields_values":[{"field_code":"PHONE","values":[{"value":"+79035550102","enum_code":"WORK"}]},{"field_code":"EMAIL","values":null}]}`
	if b := f.Bodies("PATCH", "/api/v4/contacts/1001"); len(b) != 1 || b[0] != want {
		t.Errorf("contact patch %v\nwant %s", b, want)
	}
	if r := f.Requests(); r[len(r)-2].Query != "with=contacts" || r[len(r)-1].Auth != "Bearer tok" {
		t.Errorf("requests %+v", r)
	}

	// Lead 8's record is being created by another instance: the correction waits for it.
	e.Leads.Add(router.Conversation{ID: 8, Channel: "telegram", Name: "Олег"})
	if err := e.Redis.Set(e.Ctx, e.Keys.Core("crm", "amocrm", "try", "8"), e.Clock.Now().UnixMilli(), 0).Err(); err != nil {
		t.Fatal(err)
	}
	e.Timeline(8, router.StageCorrected, "sue", map[string]string{"fields": "name"})
	poll()
	p, err := e.Redis.XPending(e.Ctx, e.Keys.Core("timeline"), "crm-amocrm").Result()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if p == nil || p.Count != 1 {
		t.Errorf("pending %+v, want the correction left for a retry", p)
	}
}
