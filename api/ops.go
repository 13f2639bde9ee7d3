package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/lidorub/lidorub/router"
)

// SupervisorDesk is what the supervisor routes need from the router: its Ops and Privacy.
// The Desk given to New provides them when it is the *router.Router; otherwise the routes
// are not registered.
type SupervisorDesk interface {
	router.Ops
	router.Privacy
}

// Supervisor routes (a supervisor's token only; others get 403):
//
//	POST   /api/v1/managers/{id}/offline                       force a manager offline
//	POST   /api/v1/conversations/{id}/reassign                 {"manager": "<lead-manager id>"}: offer it to them at once
//	POST   /api/v1/conversations/{id}/front                    a waiting lead to the head of the queue
//	POST   /api/v1/conversations/{id}/close                    (a supervisor's close: any open state, no polite text)
//	POST   /api/v1/conversations/{id}/outbound/{out}/resend    queue a failed outbound message again
//	GET    /api/v1/deadletters?limit=                           dead-lettered entries of every stream, newest first
//	POST   /api/v1/deadletters/{stream}/{entry}/replay          back to its stream (applied once)
//	DELETE /api/v1/deadletters/{stream}/{entry}                 discard it
//	GET    /api/v1/audit/actions?limit=                         supervisor actions, newest first
//	GET    /api/v1/contacts/{channel}/{contact}/export?account= everything stored about a person (JSON)
//	GET    /api/v1/contacts/export?phone=|email=
//	DELETE /api/v1/contacts/{channel}/{contact}?account=        erase it everywhere
//	DELETE /api/v1/contacts?phone=|email=
func (a *API) registerOps(mux *http.ServeMux, s SupervisorDesk) {
	a.ops = s
	mux.Handle("POST /api/v1/managers/{id}/offline", a.auth(a.sup(a.forceOffline)))
	mux.Handle("POST /api/v1/conversations/{id}/reassign", a.auth(a.sup(a.reassign)))
	mux.Handle("POST /api/v1/conversations/{id}/front", a.auth(a.sup(a.opsAction(s.MoveToFront))))
	mux.Handle("POST /api/v1/conversations/{id}/outbound/{out}/resend", a.auth(a.sup(a.resend)))
	mux.Handle("GET /api/v1/deadletters", a.auth(a.sup(a.deadLetters)))
	mux.Handle("POST /api/v1/deadletters/{stream}/{entry}/replay", a.auth(a.sup(a.deadLetter(s.ReplayDeadLetter))))
	mux.Handle("DELETE /api/v1/deadletters/{stream}/{entry}", a.auth(a.sup(a.deadLetter(s.DiscardDeadLetter))))
	mux.Handle("GET /api/v1/audit/actions", a.auth(a.sup(a.auditLog)))
	mux.Handle("GET /api/v1/contacts/{channel}/{contact}/export", a.auth(a.sup(a.exportContact)))
	mux.Handle("GET /api/v1/contacts/export", a.auth(a.sup(a.exportContact)))
	mux.Handle("DELETE /api/v1/contacts/{channel}/{contact}", a.auth(a.sup(a.eraseContact)))
	mux.Handle("DELETE /api/v1/contacts", a.auth(a.sup(a.eraseContact)))
}

// sup lets supervisors through; everyone else gets 403.
func (a *API) sup(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, me string) {
		if a.desk.Role(me) != router.RoleSupervisor {
			WriteError(w, http.StatusForbidden, "only a supervisor can do this")
			return
		}
		h(w, r, me)
	}
}

// close is POST /conversations/{id}/close: a supervisor closes any open lead without the
// polite text (Ops.CloseLead); a lead-manager closes the one assigned to them (Desk.Close).
func (a *API) close(w http.ResponseWriter, r *http.Request, me string) {
	if a.ops != nil && a.desk.Role(me) == router.RoleSupervisor {
		a.opsAction(a.ops.CloseLead)(w, r, me)
		return
	}
	a.action(a.desk.Close)(w, r, me)
}

// opsFail answers an Ops error: unlike the lead-managers' routes, a supervisor may learn
// what exists, so not found and conflict are told apart.
func (a *API) opsFail(w http.ResponseWriter, err error, what string) {
	switch {
	case errors.Is(err, router.ErrNotFound):
		WriteError(w, http.StatusNotFound, "no such "+what)
	case errors.Is(err, router.ErrUnknownManager):
		WriteError(w, http.StatusNotFound, "no such manager")
	default:
		a.fail(w, err)
	}
}

func (a *API) opsAction(f func(ctx context.Context, by string, id int64) error) handler {
	return func(w http.ResponseWriter, r *http.Request, me string) {
		id, ok := convID(w, r)
		if !ok {
			return
		}
		if err := f(r.Context(), me, id); err != nil {
			a.opsFail(w, err, "conversation")
			return
		}
		a.conversationState(w, r, id)
	}
}

func (a *API) forceOffline(w http.ResponseWriter, r *http.Request, me string) {
	id := r.PathValue("id")
	if err := a.ops.ForceOffline(r.Context(), me, id); err != nil {
		a.opsFail(w, err, "manager")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"manager": id, "online": false})
}

func (a *API) reassign(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	var body struct {
		Manager string `json:"manager"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Manager == "" {
		writeFieldError(w, "manager", `"manager" (a lead-manager id) is required`)
		return
	}
	if err := a.ops.Reassign(r.Context(), me, id, body.Manager); err != nil {
		if errors.Is(err, router.ErrInvalid) {
			writeFieldError(w, "manager", err.Error())
			return
		}
		a.opsFail(w, err, "conversation")
		return
	}
	a.conversationState(w, r, id)
}

func (a *API) resend(w http.ResponseWriter, r *http.Request, me string) {
	id, ok := convID(w, r)
	if !ok {
		return
	}
	out := r.PathValue("out")
	if err := a.ops.Resend(r.Context(), me, id, out); err != nil {
		a.opsFail(w, err, "conversation or message")
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]any{"id": out, "status": "queued"})
}

// limit reads ?limit= (default 100, at most 1000); on failure it has written the error.
func limit(w http.ResponseWriter, r *http.Request) (int, bool) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 100, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		WriteError(w, http.StatusBadRequest, "limit must be a number from 1 to 1000")
		return 0, false
	}
	return n, true
}

func (a *API) deadLetters(w http.ResponseWriter, r *http.Request, me string) {
	n, ok := limit(w, r)
	if !ok {
		return
	}
	dl, err := a.ops.DeadLetters(r.Context(), n)
	if err != nil {
		a.fail(w, err)
		return
	}
	if dl == nil {
		dl = []router.DeadLetter{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"dead_letters": dl})
}

func (a *API) deadLetter(f func(ctx context.Context, by, stream, id string) error) handler {
	return func(w http.ResponseWriter, r *http.Request, me string) {
		if err := f(r.Context(), me, r.PathValue("stream"), r.PathValue("entry")); err != nil {
			a.opsFail(w, err, "dead-letter entry")
			return
		}
		status, code := "replayed", http.StatusAccepted
		if r.Method == http.MethodDelete {
			status, code = "discarded", http.StatusOK
		}
		WriteJSON(w, code, map[string]any{"stream": r.PathValue("stream"), "id": r.PathValue("entry"), "status": status})
	}
}

func (a *API) auditLog(w http.ResponseWriter, r *http.Request, me string) {
	n, ok := limit(w, r)
	if !ok {
		return
	}
	log, err := a.ops.AuditLog(r.Context(), n)
	if err != nil {
		a.fail(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"actions": log})
}

// contactQuery reads the person of an export or erasure: {channel}/{contact} with ?account=,
// or ?phone= or ?email=; on failure it has written the error.
func contactQuery(w http.ResponseWriter, r *http.Request) (router.ContactQuery, bool) {
	q := r.URL.Query()
	if ch := r.PathValue("channel"); ch != "" {
		if q.Get("account") == "" {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "the account query parameter is required", "field": "account"})
			return router.ContactQuery{}, false
		}
		return router.ContactQuery{Channel: ch, Account: q.Get("account"), ContactID: r.PathValue("contact")}, true
	}
	phone, email := q.Get("phone"), q.Get("email")
	if (phone == "") == (email == "") {
		WriteError(w, http.StatusBadRequest, "give exactly one of the phone and email query parameters")
		return router.ContactQuery{}, false
	}
	return router.ContactQuery{Phone: phone, Email: email}, true
}

func (a *API) exportContact(w http.ResponseWriter, r *http.Request, me string) {
	q, ok := contactQuery(w, r)
	if !ok {
		return
	}
	x, err := a.ops.ExportContact(r.Context(), me, q)
	if err != nil {
		a.opsFail(w, err, "contact")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, x)
}

func (a *API) eraseContact(w http.ResponseWriter, r *http.Request, me string) {
	q, ok := contactQuery(w, r)
	if !ok {
		return
	}
	ids, err := a.ops.EraseContact(r.Context(), me, q)
	if err != nil {
		a.opsFail(w, err, "contact")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"erased": ids})
}
