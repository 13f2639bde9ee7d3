// Package bitrix24 is the Bitrix24 connector: through the portal's incoming webhook it
// creates a contact and a deal (crm.contact.add, crm.deal.add) or a lead (crm.lead.add) when a
// lidorub lead reaches the configured timeline stage, adds the transcript as a timeline
// comment (crm.timeline.comment.add), and takes the deal's stage back: the outbound webhook
// ONCRMDEALUPDATE (POST /webhooks/bitrix24, form-encoded, checked by auth[application_token])
// carries only the deal id, so the handler queues it and answers at once, and a worker reads
// the deal (crm.deal.get): stage semantics S → won with OPPORTUNITY and CURRENCY_ID, F → lost,
// others recorded on the lead's timeline. A periodic crm.deal.list (>DATE_MODIFY) catches
// events that never arrived. Shared machinery: package crm.
package bitrix24

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/api"
	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/router"
)

// Name is the connector's name (keys, metrics, Outcome.Source).
const Name = "bitrix24"

// Events handled by the inbound webhook.
const (
	EventDealUpdate = "ONCRMDEALUPDATE"
	EventLeadUpdate = "ONCRMLEADUPDATE"
)

// Connector is the Bitrix24 connector: a crm.Connector and the inbound event handler.
type Connector struct {
	cfg Config
	c   *client
	svc *crm.Service
}

// New builds the connector (cfg with defaults applied) and its crm.Service.
func New(cfg Config, d crm.Deps) *Connector {
	b := &Connector{cfg: cfg, c: &client{base: cfg.WebhookURL, http: &http.Client{Timeout: cfg.Timeout}}}
	b.svc = crm.New(cfg.Common, b, d)
	return b
}

// Service is the connector's push, inbound worker and reconciliation.
func (b *Connector) Service() *crm.Service { return b.svc }

// Run runs the service until ctx is cancelled.
func (b *Connector) Run(ctx context.Context) error { return b.svc.Run(ctx) }

// Name implements crm.Connector.
func (b *Connector) Name() string { return Name }

type multi struct {
	Value     string `json:"VALUE"`
	ValueType string `json:"VALUE_TYPE"`
}

func (b *Connector) contactFields(l crm.Lead, f map[string]any) {
	if l.Name != "" {
		f["NAME"] = l.Name
	}
	if l.Phone != "" {
		f["PHONE"] = []multi{{Value: l.Phone, ValueType: b.cfg.ValueType}}
	}
	if l.Email != "" {
		f["EMAIL"] = []multi{{Value: l.Email, ValueType: b.cfg.ValueType}}
	}
}

func (b *Connector) common(l crm.Lead) map[string]any {
	f := map[string]any{
		"SOURCE_ID":          b.cfg.SourceID,
		"SOURCE_DESCRIPTION": l.Source,
		"ORIGINATOR_ID":      b.cfg.TitlePrefix,
		"ORIGIN_ID":          strconv.FormatInt(l.ConvID, 10),
	}
	if l.Responsible > 0 {
		f["ASSIGNED_BY_ID"] = l.Responsible
	}
	for k, v := range l.UTM {
		f[strings.ToUpper(k)] = v // UTM_SOURCE, UTM_MEDIUM... are standard lead and deal fields
	}
	return f
}

func (b *Connector) entity() string {
	if b.cfg.Entity == "lead" {
		return "lead"
	}
	return "deal"
}

func resultID(a answer) (string, error) {
	var n json.Number
	if err := json.Unmarshal(a.Result, &n); err != nil {
		var s string
		if json.Unmarshal(a.Result, &s) != nil {
			return "", &crm.Error{Kind: crm.Temporary, Err: fmt.Errorf("no id in the answer")}
		}
		n = json.Number(s)
	}
	if id, err := n.Int64(); err != nil || id <= 0 {
		return "", &crm.Error{Kind: crm.Temporary, Err: fmt.Errorf("no id in the answer")}
	}
	return n.String(), nil
}

// Create implements crm.Connector: crm.lead.add, or crm.contact.add then crm.deal.add.
func (b *Connector) Create(ctx context.Context, l crm.Lead) (string, error) {
	params := map[string]any{"REGISTER_SONET_EVENT": "Y"}
	f := b.common(l)
	f["TITLE"] = l.Title
	f["OPPORTUNITY"] = 0
	f["CURRENCY_ID"] = b.cfg.Currency
	if b.cfg.Entity == "lead" {
		b.contactFields(l, f)
		a, err := b.c.call(ctx, "crm.lead.add", map[string]any{"fields": f, "params": params})
		if err != nil {
			return "", err
		}
		return resultID(a)
	}
	contactID := ""
	if l.Retry { // a contact made by the attempt whose deal failed is reused
		var err error
		if contactID, err = b.find(ctx, "contact", l.ConvID); err != nil {
			return "", err
		}
	}
	if contactID == "" {
		cf := b.common(l)
		delete(cf, "SOURCE_DESCRIPTION")
		for k := range l.UTM {
			delete(cf, strings.ToUpper(k))
		}
		b.contactFields(l, cf)
		if _, ok := cf["NAME"]; !ok {
			cf["NAME"] = l.Title
		}
		a, err := b.c.call(ctx, "crm.contact.add", map[string]any{"fields": cf, "params": params})
		if err != nil {
			return "", err
		}
		if contactID, err = resultID(a); err != nil {
			return "", err
		}
	}
	cid, _ := strconv.ParseInt(contactID, 10, 64)
	f["CONTACT_ID"] = cid
	f["CATEGORY_ID"] = b.cfg.CategoryID
	if b.cfg.StageID != "" {
		f["STAGE_ID"] = b.cfg.StageID
	}
	a, err := b.c.call(ctx, "crm.deal.add", map[string]any{"fields": f, "params": params})
	if err != nil {
		return "", err
	}
	return resultID(a)
}

// find returns the id of the entity (deal, lead, contact) made for conversation conv
// (ORIGINATOR_ID = title_prefix, ORIGIN_ID = conversation id), "" if none.
func (b *Connector) find(ctx context.Context, entity string, conv int64) (string, error) {
	a, err := b.c.call(ctx, "crm."+entity+".list", map[string]any{
		"filter": map[string]string{"ORIGINATOR_ID": b.cfg.TitlePrefix, "ORIGIN_ID": strconv.FormatInt(conv, 10)},
		"select": []string{"ID"},
	})
	if err != nil {
		return "", err
	}
	var rows []struct {
		ID string `json:"ID"`
	}
	if json.Unmarshal(a.Result, &rows) != nil || len(rows) == 0 {
		return "", nil
	}
	return rows[0].ID, nil
}

// Find implements crm.Connector by ORIGINATOR_ID and ORIGIN_ID.
func (b *Connector) Find(ctx context.Context, l crm.Lead) (string, error) {
	return b.find(ctx, b.entity(), l.ConvID)
}

// Note implements crm.Connector: a timeline comment on the deal or lead.
func (b *Connector) Note(ctx context.Context, id, text string) error {
	n, _ := strconv.ParseInt(id, 10, 64)
	_, err := b.c.call(ctx, "crm.timeline.comment.add", map[string]any{"fields": map[string]any{
		"ENTITY_ID": n, "ENTITY_TYPE": b.entity(), "COMMENT": text}})
	return err
}

// Assign implements crm.Connector: crm.deal.update (crm.lead.update) with ASSIGNED_BY_ID.
func (b *Connector) Assign(ctx context.Context, id string, user int64) error {
	n, _ := strconv.ParseInt(id, 10, 64)
	_, err := b.c.call(ctx, "crm."+b.entity()+".update", map[string]any{"id": n, "fields": map[string]int64{"ASSIGNED_BY_ID": user}})
	return err
}

// multiValue is a PHONE or EMAIL value as crm.contact.get / crm.lead.get answer it.
type multiValue struct {
	ID        string `json:"ID"`
	Value     string `json:"VALUE"`
	ValueType string `json:"VALUE_TYPE"`
}

// Update implements crm.Connector: the corrected fields go to the deal's contact
// (crm.deal.get for CONTACT_ID, then crm.contact.get and crm.contact.update) or, with entity
// lead, to the lead (crm.lead.get, crm.lead.update): NAME, and the first PHONE / EMAIL value
// changed in place by its ID (the value this connector created; others, added in the CRM,
// are kept), an empty VALUE deleting it when the field was cleared, a new value added when
// there was none.
func (b *Connector) Update(ctx context.Context, id string, l crm.Lead, fields []string) error {
	n, _ := strconv.ParseInt(id, 10, 64)
	entity, eid := "lead", n
	if b.cfg.Entity != "lead" {
		a, err := b.c.call(ctx, "crm.deal.get", map[string]any{"id": n})
		if err != nil {
			if crm.KindOf(err) == crm.Permanent { // deleted in the CRM: nothing to correct
				return nil
			}
			return err
		}
		var d struct {
			ContactID json.Number `json:"CONTACT_ID"`
		}
		_ = json.Unmarshal(a.Result, &d)
		if eid, _ = d.ContactID.Int64(); eid <= 0 {
			return nil
		}
		entity = "contact"
	}
	a, err := b.c.call(ctx, "crm."+entity+".get", map[string]any{"id": eid})
	if err != nil {
		if crm.KindOf(err) == crm.Permanent {
			return nil
		}
		return err
	}
	var cur struct {
		Phone []multiValue `json:"PHONE"`
		Email []multiValue `json:"EMAIL"`
	}
	_ = json.Unmarshal(a.Result, &cur)
	f := map[string]any{}
	set := func(key string, old []multiValue, v string) {
		switch {
		case len(old) > 0:
			f[key] = []map[string]string{{"ID": old[0].ID, "VALUE": v, "VALUE_TYPE": cmp.Or(old[0].ValueType, b.cfg.ValueType)}}
		case v != "":
			f[key] = []multi{{Value: v, ValueType: b.cfg.ValueType}}
		}
	}
	for _, fl := range fields {
		switch fl {
		case crm.FieldName:
			f["NAME"] = cmp.Or(l.Name, l.Title)
		case crm.FieldPhone:
			set("PHONE", cur.Phone, l.Phone)
		case crm.FieldEmail:
			set("EMAIL", cur.Email, l.Email)
		}
	}
	if len(f) == 0 {
		return nil
	}
	_, err = b.c.call(ctx, "crm."+entity+".update", map[string]any{"id": eid, "fields": f})
	return err
}

// record is a deal (or lead) as crm.deal.get / crm.deal.list answer it: every value a string.
type record struct {
	ID             string `json:"ID"`
	StageID        string `json:"STAGE_ID"`
	StageSemantic  string `json:"STAGE_SEMANTIC_ID"`
	StatusID       string `json:"STATUS_ID"`
	StatusSemantic string `json:"STATUS_SEMANTIC_ID"`
	Opportunity    string `json:"OPPORTUNITY"`
	CurrencyID     string `json:"CURRENCY_ID"`
}

func (b *Connector) status(r record) crm.Status {
	st := crm.Status{ID: r.ID, Status: r.StageID}
	sem := r.StageSemantic
	if b.cfg.Entity == "lead" {
		st.Status, sem = r.StatusID, r.StatusSemantic
		if sem == "S" { // converted: the deal made from it is not ours to follow
			sem = ""
		}
	}
	switch sem {
	case "S":
		st.Result = router.OutcomeWon
		st.Amount, _ = strconv.ParseFloat(r.Opportunity, 64)
		st.Currency = r.CurrencyID
	case "F":
		st.Result = router.OutcomeLost
	}
	return st
}

func (b *Connector) fields() []string {
	if b.cfg.Entity == "lead" {
		return []string{"ID", "STATUS_ID", "STATUS_SEMANTIC_ID", "OPPORTUNITY", "CURRENCY_ID"}
	}
	return []string{"ID", "STAGE_ID", "STAGE_SEMANTIC_ID", "OPPORTUNITY", "CURRENCY_ID"}
}

// Resolve implements crm.Connector: reads the deal (lead) of a queued event with crm.deal.get.
func (b *Connector) Resolve(ctx context.Context, item map[string]string) (crm.Status, error) {
	id, err := strconv.ParseInt(item["id"], 10, 64)
	if err != nil || id <= 0 {
		return crm.Status{}, nil
	}
	a, err := b.c.call(ctx, "crm."+b.entity()+".get", map[string]any{"id": id})
	if err != nil {
		if crm.KindOf(err) == crm.Permanent { // "Not found": deleted in the CRM, nothing to apply
			return crm.Status{}, nil
		}
		return crm.Status{}, err
	}
	var r record
	if err := json.Unmarshal(a.Result, &r); err != nil || r.ID == "" {
		return crm.Status{}, &crm.Error{Kind: crm.Temporary, Err: fmt.Errorf("crm.%s.get: undecodable answer", b.entity())}
	}
	return b.status(r), nil
}

// maxPages bounds one reconciliation pass (50 records a page).
const maxPages = 40

// Changed implements crm.Connector: crm.deal.list with >DATE_MODIFY and our ORIGINATOR_ID.
func (b *Connector) Changed(ctx context.Context, since time.Time) ([]crm.Status, error) {
	var out []crm.Status
	start := 0
	for range maxPages {
		a, err := b.c.call(ctx, "crm."+b.entity()+".list", map[string]any{
			"filter": map[string]string{">DATE_MODIFY": since.UTC().Format(time.RFC3339), "ORIGINATOR_ID": b.cfg.TitlePrefix},
			"select": b.fields(), "order": map[string]string{"ID": "ASC"}, "start": start,
		})
		if err != nil {
			return nil, err
		}
		var rows []record
		if err := json.Unmarshal(a.Result, &rows); err != nil {
			return nil, &crm.Error{Kind: crm.Temporary, Err: fmt.Errorf("crm.%s.list: undecodable answer", b.entity())}
		}
		for _, r := range rows {
			out = append(out, b.status(r))
		}
		if a.Next == nil || *a.Next <= start {
			break
		}
		start = *a.Next
	}
	return out, nil
}

// Register adds POST /webhooks/bitrix24.
func (b *Connector) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/bitrix24", b.webhook)
}

// Event is an outbound-webhook event as Bitrix24 posts it (form-encoded).
type Event struct {
	Name  string // event: ONCRMDEALUPDATE...
	ID    string // data[FIELDS][ID]
	Token string // auth[application_token]
}

// ParseEvent reads an event's form. The id is returned only when it is a positive number.
func ParseEvent(form url.Values) Event {
	e := Event{Name: strings.ToUpper(strings.TrimSpace(form.Get("event"))), Token: form.Get("auth[application_token]")}
	if id := form.Get("data[FIELDS][ID]"); id != "" && len(id) <= 19 && strings.Trim(id, "0123456789") == "" {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			e.ID = strconv.FormatInt(n, 10)
		}
	}
	return e
}

func (b *Connector) webhook(w http.ResponseWriter, r *http.Request) {
	m := b.svc.Metrics().Webhooks
	r.Body = http.MaxBytesReader(w, r.Body, b.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		m.WithLabelValues(Name, "rejected").Inc()
		api.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "the body must be form-encoded"})
		return
	}
	ev := ParseEvent(r.PostForm)
	if subtle.ConstantTimeCompare([]byte(ev.Token), []byte(b.cfg.ApplicationToken)) != 1 {
		m.WithLabelValues(Name, "rejected").Inc()
		api.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid application_token"})
		return
	}
	want := EventDealUpdate
	if b.cfg.Entity == "lead" {
		want = EventLeadUpdate
	}
	if ev.Name != want || ev.ID == "" {
		m.WithLabelValues(Name, "ignored").Inc()
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := b.svc.Enqueue(r.Context(), map[string]string{"id": ev.ID}); err != nil {
		api.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "could not queue the event; retry"})
		return
	}
	m.WithLabelValues(Name, "accepted").Inc()
	w.WriteHeader(http.StatusOK)
}
