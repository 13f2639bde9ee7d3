// Package amocrm is the amoCRM / Kommo connector (API v4): it creates a lead with its contact
// when a lidorub lead reaches the configured timeline stage (POST /api/v4/leads/complex, or
// /api/v4/leads/unsorted/forms for "Неразобранное"), adds the transcript as a note, and takes
// the lead's status back from the status_lead webhook (POST /webhooks/amocrm/<secret>,
// form-encoded, unsigned) and from a periodic read of recently changed leads: 142 → won with
// the price, 143 → lost (with the loss reason when loss_reasons is set), any other status
// recorded on the lead's timeline. The shared machinery is package crm.
package amocrm

import (
	"cmp"
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lidorub/lidorub/api"
	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/router"
)

// Name is the connector's name (keys, metrics, Outcome.Source).
const Name = "amocrm"

// amoCRM's closing statuses, the same in every pipeline.
const (
	StatusWon  = 142
	StatusLost = 143
)

// Connector is the amoCRM connector: a crm.Connector and the inbound webhook's handler.
type Connector struct {
	cfg Config
	c   *client
	svc *crm.Service
}

// New builds the connector (cfg with defaults applied) and its crm.Service.
func New(cfg Config, d crm.Deps) *Connector {
	a := &Connector{cfg: cfg, c: &client{base: trimSlash(cfg.BaseURL), token: cfg.Token, http: &http.Client{Timeout: cfg.Timeout}}}
	a.svc = crm.New(cfg.Common, a, d)
	return a
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Service is the connector's push, inbound worker and reconciliation.
func (a *Connector) Service() *crm.Service { return a.svc }

// Run runs the service until ctx is cancelled.
func (a *Connector) Run(ctx context.Context) error { return a.svc.Run(ctx) }

// Name implements crm.Connector.
func (a *Connector) Name() string { return Name }

type value struct {
	Value    string `json:"value"`
	EnumCode string `json:"enum_code,omitempty"`
}

type fieldValues struct {
	FieldID   int64   `json:"field_id,omitempty"`
	FieldCode string  `json:"field_code,omitempty"`
	Values    []value `json:"values"`
}

type tag struct {
	Name string `json:"name"`
}

type contact struct {
	Name              string        `json:"name,omitempty"`
	ResponsibleUserID int64         `json:"responsible_user_id,omitempty"`
	CustomFields      []fieldValues `json:"custom_fields_values,omitempty"`
}

type leadEmbedded struct {
	Tags     []tag     `json:"tags,omitempty"`
	Contacts []contact `json:"contacts,omitempty"`
}

type lead struct {
	Name              string        `json:"name"`
	PipelineID        int64         `json:"pipeline_id,omitempty"`
	StatusID          int64         `json:"status_id,omitempty"`
	ResponsibleUserID int64         `json:"responsible_user_id,omitempty"`
	CustomFields      []fieldValues `json:"custom_fields_values,omitempty"`
	Embedded          *leadEmbedded `json:"_embedded,omitempty"`
}

func (a *Connector) contact(l crm.Lead) contact {
	c := contact{Name: l.Name, ResponsibleUserID: l.Responsible}
	if c.Name == "" {
		c.Name = l.Title
	}
	if l.Phone != "" {
		c.CustomFields = append(c.CustomFields, fieldValues{FieldCode: "PHONE", Values: []value{{Value: l.Phone, EnumCode: a.cfg.PhoneEnum}}})
	}
	if l.Email != "" {
		c.CustomFields = append(c.CustomFields, fieldValues{FieldCode: "EMAIL", Values: []value{{Value: l.Email, EnumCode: a.cfg.EmailEnum}}})
	}
	return c
}

func (a *Connector) lead(l crm.Lead) lead {
	out := lead{Name: l.Title, PipelineID: a.cfg.PipelineID, StatusID: a.cfg.StatusID, ResponsibleUserID: l.Responsible}
	f := a.cfg.Fields
	for _, p := range []struct {
		id int64
		v  string
	}{{f.Source, l.Source}, {f.Channel, l.Channel}, {f.Qualification, l.Qualification},
		{f.UTMSource, l.UTM["utm_source"]}, {f.UTMMedium, l.UTM["utm_medium"]}, {f.UTMCampaign, l.UTM["utm_campaign"]},
		{f.UTMContent, l.UTM["utm_content"]}, {f.UTMTerm, l.UTM["utm_term"]}} {
		if p.id > 0 && p.v != "" {
			out.CustomFields = append(out.CustomFields, fieldValues{FieldID: p.id, Values: []value{{Value: p.v}}})
		}
	}
	return out
}

func (a *Connector) tags() []tag {
	var ts []tag
	for _, t := range a.cfg.Tags {
		ts = append(ts, tag{Name: t})
	}
	return ts
}

// Create implements crm.Connector: one lead with its contact, by leads/complex or, with
// unsorted, by leads/unsorted/forms.
func (a *Connector) Create(ctx context.Context, l crm.Lead) (string, error) {
	if a.cfg.Unsorted {
		return a.createUnsorted(ctx, l)
	}
	ld := a.lead(l)
	ld.Embedded = &leadEmbedded{Tags: a.tags(), Contacts: []contact{a.contact(l)}}
	var out []struct {
		ID        int64 `json:"id"`
		ContactID int64 `json:"contact_id"`
		Merged    bool  `json:"merged"`
	}
	if _, err := a.c.do(ctx, http.MethodPost, "/api/v4/leads/complex", []lead{ld}, &out); err != nil {
		return "", err
	}
	if len(out) == 0 || out[0].ID <= 0 {
		return "", &crm.Error{Kind: crm.Temporary, Err: fmt.Errorf("POST /api/v4/leads/complex: no lead id in the answer")}
	}
	return strconv.FormatInt(out[0].ID, 10), nil
}

type unsortedForm struct {
	SourceName string `json:"source_name"`
	SourceUID  string `json:"source_uid"`
	PipelineID int64  `json:"pipeline_id,omitempty"`
	CreatedAt  int64  `json:"created_at"`
	Metadata   struct {
		FormID     string `json:"form_id"`
		FormName   string `json:"form_name"`
		FormPage   string `json:"form_page"`
		FormSentAt int64  `json:"form_sent_at"`
		IP         string `json:"ip"`
		Referer    string `json:"referer"`
	} `json:"metadata"`
	Embedded struct {
		Leads    []lead    `json:"leads"`
		Contacts []contact `json:"contacts"`
	} `json:"_embedded"`
}

func (a *Connector) createUnsorted(ctx context.Context, l crm.Lead) (string, error) {
	ld := a.lead(l)
	ld.PipelineID, ld.StatusID = 0, 0
	if ts := a.tags(); len(ts) > 0 {
		ld.Embedded = &leadEmbedded{Tags: ts}
	}
	at := l.CreatedAt
	if at.IsZero() {
		at = time.Unix(0, 0)
	}
	f := unsortedForm{SourceName: a.cfg.TitlePrefix, SourceUID: fmt.Sprintf("%s-%d", a.cfg.TitlePrefix, l.ConvID),
		PipelineID: a.cfg.PipelineID, CreatedAt: at.Unix()}
	f.Metadata.FormID, f.Metadata.FormName, f.Metadata.FormPage = a.cfg.TitlePrefix, l.Title, l.Channel
	f.Metadata.FormSentAt = at.Unix()
	f.Embedded.Leads = []lead{ld}
	f.Embedded.Contacts = []contact{a.contact(l)}
	var out struct {
		Embedded struct {
			Unsorted []struct {
				UID      string `json:"uid"`
				Embedded struct {
					Leads []struct {
						ID int64 `json:"id"`
					} `json:"leads"`
				} `json:"_embedded"`
			} `json:"unsorted"`
		} `json:"_embedded"`
	}
	if _, err := a.c.do(ctx, http.MethodPost, "/api/v4/leads/unsorted/forms", []unsortedForm{f}, &out); err != nil {
		return "", err
	}
	if u := out.Embedded.Unsorted; len(u) > 0 && len(u[0].Embedded.Leads) > 0 && u[0].Embedded.Leads[0].ID > 0 {
		return strconv.FormatInt(u[0].Embedded.Leads[0].ID, 10), nil
	}
	return "", &crm.Error{Kind: crm.Temporary, Err: fmt.Errorf("POST /api/v4/leads/unsorted/forms: no lead id in the answer")}
}

// Assign implements crm.Connector: PATCH /api/v4/leads/{id} with responsible_user_id.
func (a *Connector) Assign(ctx context.Context, id string, user int64) error {
	_, err := a.c.do(ctx, http.MethodPatch, "/api/v4/leads/"+url.PathEscape(id), map[string]int64{"responsible_user_id": user}, nil)
	return err
}

// Update implements crm.Connector: the lead's main contact (GET /api/v4/leads/{id}?with=contacts)
// gets the corrected fields by PATCH /api/v4/contacts/{contact}: name, and the PHONE / EMAIL
// field's values replaced by the corrected one (values null: cleared). A lead without a contact
// has nothing to correct.
func (a *Connector) Update(ctx context.Context, id string, l crm.Lead, fields []string) error {
	var ld struct {
		Embedded struct {
			Contacts []struct {
				ID     int64 `json:"id"`
				IsMain bool  `json:"is_main"`
			} `json:"contacts"`
		} `json:"_embedded"`
	}
	noContent, err := a.c.do(ctx, http.MethodGet, "/api/v4/leads/"+url.PathEscape(id)+"?with=contacts", nil, &ld)
	if err != nil || noContent {
		return err
	}
	var contactID int64
	for _, c := range ld.Embedded.Contacts {
		if contactID == 0 || c.IsMain {
			contactID = c.ID
		}
		if c.IsMain {
			break
		}
	}
	if contactID == 0 {
		return nil
	}
	type multi struct {
		FieldCode string  `json:"field_code"`
		Values    []value `json:"values"` // nil: null, the field cleared
	}
	body := struct {
		Name         string  `json:"name,omitempty"`
		CustomFields []multi `json:"custom_fields_values,omitempty"`
	}{}
	set := func(code, v, enum string) {
		m := multi{FieldCode: code}
		if v != "" {
			m.Values = []value{{Value: v, EnumCode: enum}}
		}
		body.CustomFields = append(body.CustomFields, m)
	}
	for _, f := range fields {
		switch f {
		case crm.FieldName:
			body.Name = cmp.Or(l.Name, l.Title) // a contact needs a name
		case crm.FieldPhone:
			set("PHONE", l.Phone, a.cfg.PhoneEnum)
		case crm.FieldEmail:
			set("EMAIL", l.Email, a.cfg.EmailEnum)
		}
	}
	if body.Name == "" && len(body.CustomFields) == 0 {
		return nil
	}
	_, err = a.c.do(ctx, http.MethodPatch, "/api/v4/contacts/"+strconv.FormatInt(contactID, 10), body, nil)
	return err
}

// apiLead is a lead as GET /api/v4/leads answers it (the fields read here).
type apiLead struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Price        int64  `json:"price"`
	StatusID     int64  `json:"status_id"`
	PipelineID   int64  `json:"pipeline_id"`
	LossReasonID *int64 `json:"loss_reason_id"`
	Embedded     struct {
		LossReason []struct {
			ID int64 `json:"id"`
		} `json:"loss_reason"`
	} `json:"_embedded"`
}

type leadList struct {
	Links struct {
		Next *struct {
			Href string `json:"href"`
		} `json:"next"`
	} `json:"_links"`
	Embedded struct {
		Leads []apiLead `json:"leads"`
	} `json:"_embedded"`
}

// Find implements crm.Connector: a lead whose name is l.Title (GET /api/v4/leads?query=).
func (a *Connector) Find(ctx context.Context, l crm.Lead) (string, error) {
	var out leadList
	q := url.Values{"query": {l.Title}, "limit": {"50"}}
	noContent, err := a.c.do(ctx, http.MethodGet, "/api/v4/leads?"+q.Encode(), nil, &out)
	if err != nil || noContent {
		return "", err
	}
	for _, ld := range out.Embedded.Leads {
		if ld.Name == l.Title {
			return strconv.FormatInt(ld.ID, 10), nil
		}
	}
	return "", nil
}

// Note implements crm.Connector: a common note on the lead.
func (a *Connector) Note(ctx context.Context, id, text string) error {
	body := []map[string]any{{"note_type": "common", "params": map[string]string{"text": text}}}
	_, err := a.c.do(ctx, http.MethodPost, "/api/v4/leads/"+url.PathEscape(id)+"/notes", body, nil)
	return err
}

func (a *Connector) status(ld apiLead) crm.Status {
	st := crm.Status{ID: strconv.FormatInt(ld.ID, 10), Status: strconv.FormatInt(ld.StatusID, 10)}
	switch ld.StatusID {
	case StatusWon:
		st.Result, st.Amount = router.OutcomeWon, float64(ld.Price)
	case StatusLost:
		st.Result = router.OutcomeLost
		reason := ld.LossReasonID
		if reason == nil && len(ld.Embedded.LossReason) > 0 {
			reason = &ld.Embedded.LossReason[0].ID
		}
		if reason != nil {
			st.Reason = a.cfg.LossReasons[strconv.FormatInt(*reason, 10)]
		}
	}
	return st
}

// Resolve implements crm.Connector for an item of the status_lead webhook (id, status,
// pipeline_id, price): a lost lead's reason is read back when loss_reasons is set.
func (a *Connector) Resolve(ctx context.Context, item map[string]string) (crm.Status, error) {
	id, _ := strconv.ParseInt(item["id"], 10, 64)
	status, _ := strconv.ParseInt(item["status"], 10, 64)
	if id <= 0 {
		return crm.Status{}, nil
	}
	if status == StatusLost && len(a.cfg.LossReasons) > 0 {
		var ld apiLead
		if _, err := a.c.do(ctx, http.MethodGet, "/api/v4/leads/"+strconv.FormatInt(id, 10)+"?with=loss_reason", nil, &ld); err != nil {
			return crm.Status{}, err
		}
		if ld.ID == id {
			return a.status(ld), nil
		}
	}
	price, _ := strconv.ParseFloat(item["price"], 64)
	return a.status(apiLead{ID: id, StatusID: status, Price: int64(price)}), nil
}

// maxPages bounds one reconciliation pass (250 leads a page).
const maxPages = 40

// Changed implements crm.Connector: GET /api/v4/leads?filter[updated_at][from]=<unix>, page by page.
func (a *Connector) Changed(ctx context.Context, since time.Time) ([]crm.Status, error) {
	var out []crm.Status
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"filter[updated_at][from]": {strconv.FormatInt(since.Unix(), 10)}, "limit": {"250"}, "page": {strconv.Itoa(page)}}
		if len(a.cfg.LossReasons) > 0 {
			q.Set("with", "loss_reason")
		}
		var l leadList
		noContent, err := a.c.do(ctx, http.MethodGet, "/api/v4/leads?"+q.Encode(), nil, &l)
		if err != nil {
			return nil, err
		}
		if noContent {
			break
		}
		for _, ld := range l.Embedded.Leads {
			out = append(out, a.status(ld))
		}
		if l.Links.Next == nil || len(l.Embedded.Leads) == 0 {
			break
		}
	}
	return out, nil
}

// Register adds POST /webhooks/amocrm/{secret}.
func (a *Connector) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/amocrm/{secret}", a.webhook)
}

func (a *Connector) webhook(w http.ResponseWriter, r *http.Request) {
	m := a.svc.Metrics().Webhooks
	if subtle.ConstantTimeCompare([]byte(r.PathValue("secret")), []byte(a.cfg.WebhookSecret)) != 1 {
		m.WithLabelValues(Name, "rejected").Inc()
		api.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "unknown webhook secret"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		m.WithLabelValues(Name, "rejected").Inc()
		api.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "the body must be form-encoded"})
		return
	}
	items := ParseWebhook(r.PostForm)
	if len(items) == 0 {
		m.WithLabelValues(Name, "ignored").Inc()
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, it := range items {
		if err := a.svc.Enqueue(r.Context(), it); err != nil {
			api.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "could not queue the webhook; retry"})
			return
		}
	}
	m.WithLabelValues(Name, "accepted").Add(float64(len(items)))
	w.WriteHeader(http.StatusOK)
}

// maxItems bounds the leads taken from one webhook.
const maxItems = 500

// ParseWebhook reads the leads of a status_lead webhook: leads[status][N][id], [status_id],
// [pipeline_id], [price] (N from 0, contiguous). Items without a numeric id and status are
// skipped; other events (leads[add], leads[update]...) give nothing.
func ParseWebhook(form url.Values) []map[string]string {
	var out []map[string]string
	for i := 0; i < maxItems; i++ {
		p := "leads[status][" + strconv.Itoa(i) + "]"
		id := form.Get(p + "[id]")
		if id == "" {
			break
		}
		st := form.Get(p + "[status_id]")
		if !digits(id, 19) || !digits(st, 19) {
			continue
		}
		it := map[string]string{"id": id, "status": st}
		if v := form.Get(p + "[pipeline_id]"); digits(v, 19) {
			it["pipeline_id"] = v
		}
		if v := form.Get(p + "[price]"); v != "" && len(v) <= 32 {
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				it["price"] = v
			}
		}
		out = append(out, it)
	}
	return out
}

func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
