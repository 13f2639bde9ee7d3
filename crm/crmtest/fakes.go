package crmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Request is one request a fake CRM received.
type Request struct {
	Method, Path, Query, Body string
	Auth                      string // the Authorization header
}

// recorder keeps a fake's requests.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *recorder) add(q Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, q)
}

// Requests returns the requests received, oldest first.
func (r *recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Bodies returns the bodies of the requests to method and path, oldest first.
func (r *recorder) Bodies(method, path string) []string {
	var out []string
	for _, q := range r.Requests() {
		if q.Method == method && q.Path == path {
			out = append(out, q.Body)
		}
	}
	return out
}

// Amo is a fake amoCRM API v4 (answers shaped as in amocrm.ru/developers): leads/complex makes
// lead 31, 32... with contact 1001, 1002...; GET /api/v4/leads/{id} answers the lead with its
// contact (with=contacts) and the loss reason set by SetLossReason; notes and PATCHes of leads
// and contacts are accepted.
type Amo struct {
	recorder
	Srv    *httptest.Server
	next   int64
	leads  map[int64]int64 // lead -> its contact
	reason map[int64]int64 // lead -> loss_reason_id
}

// NewAmo starts a fake amoCRM (closed when the test ends).
func NewAmo(t testing.TB) *Amo {
	a := &Amo{next: 30, leads: map[int64]int64{}, reason: map[int64]int64{}}
	a.Srv = httptest.NewServer(a)
	t.Cleanup(a.Srv.Close)
	return a
}

// SetLossReason sets the loss_reason_id GET /api/v4/leads/{id} answers for lead id.
func (a *Amo) SetLossReason(lead, reason int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reason[lead] = reason
}

func (a *Amo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.add(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Auth: r.Header.Get("Authorization")})
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/hal+json")
	p := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v4/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v4/leads/complex":
		a.next++
		a.leads[a.next] = 970 + a.next
		fmt.Fprintf(w, `[{"id":%d,"contact_id":%d,"company_id":null,"request_id":["0"],"merged":false}]`, a.next, a.leads[a.next])
	case r.Method == http.MethodPost && len(p) == 3 && p[0] == "leads" && p[2] == "notes":
		fmt.Fprintf(w, `{"_total_items":1,"_embedded":{"notes":[{"id":7,"entity_id":%s,"request_id":"0"}]}}`, p[1])
	case r.Method == http.MethodGet && len(p) == 2 && p[0] == "leads":
		id, _ := strconv.ParseInt(p[1], 10, 64)
		c, ok := a.leads[id]
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		reason := "null"
		if v, ok := a.reason[id]; ok {
			reason = strconv.FormatInt(v, 10)
		}
		fmt.Fprintf(w, `{"id":%d,"name":"lidorub #x","price":0,"status_id":143,"pipeline_id":1,"loss_reason_id":%s,`+
			`"_embedded":{"tags":[],"contacts":[{"id":%d,"is_main":true,"_links":{"self":{"href":"/api/v4/contacts/%d"}}}]}}`, id, reason, c, c)
	case r.Method == http.MethodPatch && len(p) == 2 && (p[0] == "leads" || p[0] == "contacts"):
		fmt.Fprintf(w, `{"id":%s,"updated_at":1764064800,"_links":{"self":{"href":"/api/v4/%s/%s"}}}`, p[1], p[0], p[1])
	default:
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"title":"Not Found","type":"https://httpstatus.es/404","status":404,"detail":"Not Found"}`)
	}
}

// Bitrix is a fake Bitrix24 incoming webhook (answers shaped as in apidocs.bitrix24.com):
// crm.contact.add / crm.deal.add / crm.lead.add make ids 101, 102...; crm.deal.get answers the
// deal as SetDeal left it; crm.contact.get and crm.lead.get answer the contact or lead with its
// PHONE and EMAIL multi-fields (value ids 11, 12... and 21, 22...); updates and comments are
// accepted. Requests are recorded with
// Path the REST method (crm.deal.add).
type Bitrix struct {
	recorder
	Srv      *httptest.Server
	Hook     string // the webhook URL: Srv.URL + "/rest/1/code/"
	next     int
	deals    map[string]map[string]any
	contacts map[string]map[string]any // "contact<id>", "lead<id>"
}

// NewBitrix starts a fake Bitrix24 (closed when the test ends).
func NewBitrix(t testing.TB) *Bitrix {
	b := &Bitrix{next: 100, deals: map[string]map[string]any{}, contacts: map[string]map[string]any{}}
	b.Srv = httptest.NewServer(b)
	b.Hook = b.Srv.URL + "/rest/1/code/"
	t.Cleanup(b.Srv.Close)
	return b
}

// SetDeal sets fields of deal id as crm.deal.get answers them.
func (b *Bitrix) SetDeal(id string, fields map[string]any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range fields {
		b.deals[id][k] = v
	}
}

func (b *Bitrix) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	method := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/rest/1/code/"), ".json")
	b.add(Request{Method: r.Method, Path: method, Body: string(body)})
	b.mu.Lock()
	defer b.mu.Unlock()
	var in struct {
		ID     json.Number    `json:"id"`
		Fields map[string]any `json:"fields"`
	}
	_ = json.Unmarshal(body, &in)
	ok := func(result any) {
		_ = json.NewEncoder(w).Encode(map[string]any{"result": result, "time": map[string]any{"start": 1.7e9, "finish": 1.7e9, "duration": 0.01}})
	}
	multi := func(v any, typ string, first int) []map[string]any {
		var out []map[string]any
		l, _ := v.([]any)
		for i, x := range l {
			m, _ := x.(map[string]any)
			out = append(out, map[string]any{"ID": strconv.Itoa(first + i), "VALUE_TYPE": m["VALUE_TYPE"], "VALUE": m["VALUE"], "TYPE_ID": typ})
		}
		return out
	}
	switch method {
	case "crm.contact.add", "crm.deal.add", "crm.lead.add":
		b.next++
		id := strconv.Itoa(b.next)
		switch method {
		case "crm.deal.add":
			b.deals[id] = map[string]any{"ID": id, "STAGE_ID": "NEW", "STAGE_SEMANTIC_ID": "P", "OPPORTUNITY": "0.00",
				"CURRENCY_ID": "RUB", "CONTACT_ID": fmt.Sprint(in.Fields["CONTACT_ID"])}
		default: // a contact, or a lead: both hold the contact's fields
			c := map[string]any{"ID": id, "NAME": in.Fields["NAME"]}
			if v, ok := in.Fields["PHONE"]; ok {
				c["PHONE"] = multi(v, "PHONE", 11)
			}
			if v, ok := in.Fields["EMAIL"]; ok {
				c["EMAIL"] = multi(v, "EMAIL", 21)
			}
			b.contacts[strings.Split(method, ".")[1]+id] = c
		}
		ok(b.next)
	case "crm.deal.get", "crm.contact.get", "crm.lead.get":
		d, found := b.deals[in.ID.String()]
		if method != "crm.deal.get" {
			d, found = b.contacts[strings.Split(method, ".")[1]+in.ID.String()]
		}
		if !found {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"","error_description":"Not found"}`)
			return
		}
		ok(d)
	case "crm.deal.update", "crm.contact.update", "crm.lead.update":
		ok(true)
	case "crm.timeline.comment.add":
		ok(7)
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"ERROR_METHOD_NOT_FOUND","error_description":"Method not found!"}`)
	}
}
