// Package api is the lead-managers' HTTP agent API: JSON over HTTP with a bearer token per
// manager (managers[].token). Integrators and the tests drive the router through it; the
// Telegram staff bot works beside it on the same state.
//
//	GET  /api/v1/me                               who am I (manager view)
//	PUT  /api/v1/managers/{id}/status             {"online": true|false}
//	GET  /api/v1/managers/{id}                    presence, load, offers, conversations, queue length
//	GET  /api/v1/managers/{id}/conversations      {"offers": [...], "conversations": [...]}
//	GET  /api/v1/conversations/{id}               {"conversation": {...}, "transcript": [...]}; the
//	                                              conversation has the lead card context: explanation
//	                                              (matched qualification rules), prechat (answers),
//	                                              previous (earlier leads of the same contact, newest first)
//	POST /api/v1/conversations/{id}/accept        take an offer
//	POST /api/v1/conversations/{id}/pass          decline an offer
//	POST /api/v1/conversations/{id}/messages      {"text": "...", "attachments": [...]}: reply to the customer
//	POST /api/v1/conversations/{id}/contacted     a form lead was called back (stops speed-to-lead)
//	POST /api/v1/conversations/{id}/qualify       {"level": "hot"|"warm"|"tourist", "note": "..."}: a handing-off
//	                                              level (sales.handoff_levels) hands the lead to sales with the
//	                                              optional note
//	POST /api/v1/conversations/{id}/sales/accept  a sales manager takes a handed-off lead offered to them
//	POST /api/v1/conversations/{id}/sales/reject  {"reason": "<sales.rejection_reasons id>"}
//	POST /api/v1/conversations/{id}/sales/contacted  the sales manager reached the customer
//	POST /api/v1/conversations/{id}/outcome       {"result": "won"|"lost", "amount": 1500, "currency": "RUB",
//	                                              "reason": "<sales.loss_reasons id>"}: the sales manager once;
//	                                              a supervisor corrects it later
//	POST /api/v1/conversations/{id}/sales/pick    {"sales_manager": "<id>"} (supervisors, sales.allow_manual_pick)
//	POST /api/v1/conversations/{id}/close       (a supervisor closes any open lead, without the polite text)
//	DELETE /api/v1/conversations/{id}             erase it and its transcript (supervisors; personal-data requests)
//	PATCH  /api/v1/contacts/{channel}/{contact}?account=<account>
//	                                              {"name": "...", "phone": "+...", "email": "..."}: correct a
//	                                              contact's data at the customer's request, in every conversation
//	                                              of that channel, account and contact id (supervisors; a
//	                                              lead-manager for a contact whose conversation they hold);
//	                                              answers {"conversations": [ids], "contact": id, "fields": [...]}
//	                                              (a form lead's contact id follows its corrected phone / e-mail).
//	                                              A field left out is unchanged, "" clears it; account is required
//	                                              (the same contact id in another account is another contact).
//	GET  /api/v1/leads/{id}/timeline              {"lead": id, "timeline": [{stage, at, manager, extra}]}: the
//	                                              lead's stages, oldest first (supervisors any lead; a manager a
//	                                              lead they were offered, held or acted on)
//	GET  /api/v1/reports/funnel?from=&to=&by=&format=
//	GET  /api/v1/reports/stale
//	                                              the funnel report (supervisors): from/to RFC 3339 or YYYY-MM-DD
//	                                              (a date "to" includes its day; default the last 7 days), by
//	                                              lead_manager | sales_manager | channel (default) | source;
//	                                              JSON, or CSV with Accept: text/csv or format=csv
//
// The supervisors' routes (actions, dead letters, audit, the privacy export and erasure) are
// listed in ops.go.
//
// Errors are {"error": "..."} with 400 (malformed), 401 (no or wrong token), 403 (acting as
// another manager, or a supervisor-only action), 404 (no such conversation — or not offered
// or assigned to you, including an offer that lapsed or was taken: the answer is the same),
// 409 (the state does not allow it: closed, a form lead cannot be replied to), 413 (body too
// large), 422 (invalid values).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// Desk is what the API needs from the router: the router's Desk.
type Desk = router.Desk

// maxBody bounds request bodies.
const maxBody = 64 << 10

// API serves the agent API.
type API struct {
	desk    Desk
	ops     SupervisorDesk // nil: the desk has no supervisor side (see ops.go)
	log     *slog.Logger
	reports Reports          // nil: no funnel report (WithReports)
	now     func() time.Time // the funnel report's default period
}

// New returns the API.
func New(desk Desk, log *slog.Logger) *API { return &API{desk: desk, log: log} }

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/me", a.auth(a.me))
	mux.Handle("PUT /api/v1/managers/{id}/status", a.auth(a.setStatus))
	mux.Handle("GET /api/v1/managers/{id}", a.auth(a.manager))
	mux.Handle("GET /api/v1/managers/{id}/conversations", a.auth(a.managerConversations))
	mux.Handle("GET /api/v1/conversations/{id}", a.auth(a.conversation))
	mux.Handle("POST /api/v1/conversations/{id}/accept", a.auth(a.action(a.desk.Accept)))
	mux.Handle("POST /api/v1/conversations/{id}/pass", a.auth(a.pass))
	mux.Handle("POST /api/v1/conversations/{id}/contacted", a.auth(a.action(a.desk.MarkContacted)))
	mux.Handle("POST /api/v1/conversations/{id}/close", a.auth(a.close))
	mux.Handle("POST /api/v1/conversations/{id}/messages", a.auth(a.reply))
	mux.Handle("POST /api/v1/conversations/{id}/qualify", a.auth(a.qualify))
	mux.Handle("POST /api/v1/conversations/{id}/sales/accept", a.auth(a.action(a.desk.SalesAccept)))
	mux.Handle("POST /api/v1/conversations/{id}/sales/reject", a.auth(a.salesReject))
	mux.Handle("POST /api/v1/conversations/{id}/sales/contacted", a.auth(a.action(a.desk.SalesContacted)))
	mux.Handle("POST /api/v1/conversations/{id}/outcome", a.auth(a.outcome))
	mux.Handle("POST /api/v1/conversations/{id}/sales/pick", a.auth(a.salesPick))
	mux.Handle("DELETE /api/v1/conversations/{id}", a.auth(a.erase))
	mux.Handle("PATCH /api/v1/contacts/{channel}/{contact}", a.auth(a.correct))
	mux.Handle("GET /api/v1/leads/{id}/timeline", a.auth(a.leadTimeline))
	mux.Handle("GET /api/v1/reports/funnel", a.auth(a.funnel))
	mux.Handle("GET /api/v1/reports/stale", a.auth(a.stale))
	if s, ok := a.desk.(SupervisorDesk); ok {
		a.registerOps(mux, s)
	}
}

// JSONErrors wraps a mux so that a request no route matches gets a JSON error instead of the
// mux's plain-text one: 404 for an unknown path, and 405 with the mux's Allow header for a
// known path asked with the wrong method. Routes are never shadowed by a catch-all pattern,
// so the mux itself decides between 404 and 405.
func JSONErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern: the mux would answer 404 or 405 (with Allow) itself. Let it decide on a
		// recorder, then answer in JSON with the same status and Allow header.
		rec := &statusRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		switch {
		case rec.status == http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			WriteError(w, http.StatusMethodNotAllowed, "method not allowed on this path (allowed: "+rec.header.Get("Allow")+")")
		case strings.HasPrefix(r.URL.Path, "/api/"):
			WriteError(w, http.StatusNotFound, "no such API endpoint")
		case rec.status >= 300 && rec.status < 400:
			// The mux redirects to a cleaned path (e.g. "//x" -> "/x"): keep that.
			w.Header().Set("Location", rec.header.Get("Location"))
			w.WriteHeader(rec.status)
		default:
			WriteError(w, http.StatusNotFound, "not found")
		}
	})
}

// statusRecorder keeps the status and headers of the mux's own error answer; the body is dropped.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }

type handler func(w http.ResponseWriter, r *http.Request, me string)

func (a *API) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := BearerManager(a.desk, r)
		if me == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lidorub"`)
			WriteError(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		h(w, r, me)
	})
}

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

func (a *API) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrNotYours):
		// Another manager's conversation (or an offer that lapsed or was taken) answers
		// exactly like one that does not exist: nothing leaks, not even that it exists.
		WriteError(w, http.StatusNotFound, "no such conversation")
	case errors.Is(err, router.ErrConflict):
		WriteError(w, http.StatusConflict, err.Error())
	case errors.Is(err, router.ErrInvalid):
		WriteError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, router.ErrForbidden):
		WriteError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, router.ErrUnknownManager):
		WriteError(w, http.StatusForbidden, "not a lead-manager")
	case errors.Is(err, context.Canceled):
		WriteError(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		a.log.Error("agent API request failed", "err", err)
		WriteError(w, http.StatusServiceUnavailable, "temporarily unavailable, try again")
	}
}

func (a *API) me(w http.ResponseWriter, r *http.Request, me string) {
	v, err := a.desk.Manager(r.Context(), me)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

func (a *API) self(w http.ResponseWriter, r *http.Request, me string) bool {
	if r.PathValue("id") != me {
		WriteError(w, http.StatusForbidden, "you can only act as yourself")
		return false
	}
	return true
}

func (a *API) setStatus(w http.ResponseWriter, r *http.Request, me string) {
	if !a.self(w, r, me) {
		return
	}
	var body struct {
		Online *bool `json:"online"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Online == nil {
		WriteError(w, http.StatusUnprocessableEntity, `"online" (true or false) is required`)
		return
	}
	if err := a.desk.SetOnline(r.Context(), me, *body.Online); err != nil {
		a.fail(w, err)
		return
	}
	a.me(w, r, me)
}

func (a *API) manager(w http.ResponseWriter, r *http.Request, me string) {
	if a.self(w, r, me) {
		a.me(w, r, me)
	}
}

func (a *API) managerConversations(w http.ResponseWriter, r *http.Request, me string) {
	if !a.self(w, r, me) {
		return
	}
	v, err := a.desk.Manager(r.Context(), me)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"offers": v.Offers, "conversations": v.Conversations})
}

func convID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		WriteError(w, http.StatusBadRequest, "conversation id must be a positive number")
		return 0, false
	}
	return id, true
}

func (a *API) conversation(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	c, err := a.desk.Conversation(r.Context(), id)
	if err != nil {
		a.fail(w, err)
		return
	}
	// Lead-managers see what is offered or assigned to them; supervisors see everything.
	if a.desk.Role(me) != router.RoleSupervisor && c.ManagerID != me && c.Holder() != me && c.OfferTo != me &&
		(c.SalesState != router.SalesOffered || c.SalesOfferTo != me) {
		WriteError(w, http.StatusNotFound, "no such conversation")
		return
	}
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			WriteError(w, http.StatusBadRequest, "limit must be a non-negative number")
			return
		}
	}
	tr, err := a.desk.Transcript(r.Context(), id, limit)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"conversation": c, "transcript": tr})
}

func (a *API) action(f func(ctx context.Context, id int64, me string) error) handler {
	return func(w http.ResponseWriter, r *http.Request, me string) {
		id, ok := convID(w, r)
		if !ok {
			return
		}
		if err := f(r.Context(), id, me); err != nil {
			a.fail(w, err)
			return
		}
		a.conversationState(w, r, id)
	}
}

// pass gives the conversation back: the caller loses access to it at once, so the answer
// says only that it was passed, not where it went (the next manager is not the caller's to see).
func (a *API) pass(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	if err := a.desk.Pass(r.Context(), id, me); err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "passed"})
}

func (a *API) conversationState(w http.ResponseWriter, r *http.Request, id int64) {
	c, err := a.desk.Conversation(r.Context(), id)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"conversation": c})
}

func (a *API) reply(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	var body struct {
		Text        string                `json:"text"`
		Attachments []channels.Attachment `json:"attachments"`
	}
	if !decode(w, r, &body) {
		return
	}
	outID, err := a.desk.Reply(r.Context(), id, me, body.Text, body.Attachments)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"id": outID, "status": "queued"})
}

func (a *API) qualify(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	var body struct {
		Level string `json:"level"`
		Note  string `json:"note"`
	}
	if !decode(w, r, &body) {
		return
	}
	if err := a.desk.Handoff(r.Context(), id, me, body.Level, body.Note); err != nil {
		a.fail(w, err)
		return
	}
	a.conversationState(w, r, id)
}

// decode reads a strict JSON body; on failure it has written the error.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			WriteError(w, http.StatusRequestEntityTooLarge, "request body too large")
		case errors.Is(err, io.EOF):
			WriteError(w, http.StatusBadRequest, "request body is empty; JSON expected")
		default:
			WriteError(w, http.StatusBadRequest, "malformed JSON: "+jsonErr(err, v))
		}
		return false
	}
	if dec.More() {
		WriteError(w, http.StatusBadRequest, "malformed JSON: trailing data")
		return false
	}
	return true
}

// jsonErr describes a decode error without echoing the body: an unknown key is not repeated
// (it is the caller's text); the answer lists the fields v accepts instead.
func jsonErr(err error, v any) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "field " + strconv.Quote(te.Field) + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "unknown field (allowed: " + strings.Join(jsonFields(v), ", ") + ")"
	}
	return "cannot decode"
}

func (a *API) erase(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	if err := a.desk.Erase(r.Context(), id, me); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// correctionFields are the fields PATCH /api/v1/contacts/... accepts.
var correctionFields = []string{"name", "phone", "email"}

// fieldName is a key safe to repeat in an error (a short identifier), else "".
func fieldName(k string) string {
	if k == "" || len(k) > 64 {
		return ""
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return ""
		}
	}
	return k
}

// writeFieldError answers 422 {"error": msg, "field": field}.
func writeFieldError(w http.ResponseWriter, field, msg string) {
	WriteJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": msg, "field": field})
}

// correct corrects a contact's name, phone or e-mail (the right to rectification). A manager
// who may not correct the contact gets exactly the answer for a contact that does not exist.
func (a *API) correct(w http.ResponseWriter, r *http.Request, me string) {
	acct, ok := r.URL.Query()["account"]
	if !ok || len(acct) != 1 || acct[0] == "" {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "the account query parameter is required", "field": "account"})
		return
	}
	var body map[string]json.RawMessage
	if !decode(w, r, &body) {
		return
	}
	if body == nil {
		WriteError(w, http.StatusBadRequest, "a JSON object expected")
		return
	}
	var c router.ContactCorrection
	for k, raw := range body {
		if !slices.Contains(correctionFields, k) {
			if f := fieldName(k); f != "" {
				writeFieldError(w, f, "unknown field "+strconv.Quote(f)+" (allowed: name, phone, email)")
			} else {
				writeFieldError(w, "", "unknown field (allowed: name, phone, email)")
			}
			return
		}
		var v *string
		if err := json.Unmarshal(raw, &v); err != nil {
			writeFieldError(w, k, "field "+strconv.Quote(k)+" must be a string")
			return
		}
		switch k {
		case "name":
			c.Name = v
		case "phone":
			c.Phone = v
		case "email":
			c.Email = v
		}
	}
	ref := router.ContactRef{Channel: r.PathValue("channel"), Account: acct[0], ContactID: r.PathValue("contact")}
	res, err := a.desk.CorrectContact(r.Context(), ref, me, c)
	var fe *router.FieldError
	switch {
	case errors.As(err, &fe):
		writeFieldError(w, fe.Field, fe.Error())
		return
	case errors.Is(err, router.ErrNotFound):
		WriteError(w, http.StatusNotFound, "no such contact")
		return
	case err != nil:
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"conversations": res.Conversations, "contact": res.ContactID, "fields": c.Fields()})
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		if name != "-" {
			names = append(names, strconv.Quote(name))
		}
	}
	return names
}

// salesReject gives a handed-off lead back: like pass, the answer does not say where it went.
func (a *API) salesReject(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if !decode(w, r, &body) {
		return
	}
	if err := a.desk.SalesReject(r.Context(), id, me, body.Reason); err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "rejected"})
}

func (a *API) outcome(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	var body struct {
		Result   string  `json:"result"`
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
		Reason   string  `json:"reason"`
	}
	if !decode(w, r, &body) {
		return
	}
	o := router.Outcome{Result: body.Result, Amount: body.Amount, Currency: body.Currency, Reason: body.Reason}
	if err := a.desk.RecordOutcome(r.Context(), id, me, o); err != nil {
		a.fail(w, err)
		return
	}
	a.conversationState(w, r, id)
}

func (a *API) salesPick(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	var body struct {
		SalesManager string `json:"sales_manager"`
	}
	if !decode(w, r, &body) {
		return
	}
	if err := a.desk.PickSales(r.Context(), id, me, body.SalesManager); err != nil {
		a.fail(w, err)
		return
	}
	a.conversationState(w, r, id)
}
