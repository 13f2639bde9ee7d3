package console

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/lidorub/lidorub/router"
)

// errCode names an error of the router for the console.error.* texts.
func errCode(err error) string {
	switch {
	case errors.Is(err, router.ErrNotImplemented):
		return "not_implemented"
	case errors.Is(err, router.ErrNotFound):
		return "not_found"
	case errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrNotYours):
		return "conflict"
	case errors.Is(err, router.ErrUnknownManager):
		return "unknown_manager"
	case errors.Is(err, router.ErrInvalid):
		return "invalid"
	case errors.Is(err, router.ErrForbidden):
		return "forbidden"
	}
	return "failed"
}

// backRE: where an action may send the supervisor back to (a console page of ours).
var backRE = regexp.MustCompile(`^/console/(leads/[0-9]{1,19})?$`)

// action runs a supervisor action (router.Ops) and goes back to the page it came from with
// ?ok=<action> or ?err=<code>.
func (c *Console) action(w http.ResponseWriter, r *http.Request, s *session) {
	back := r.PostFormValue("back")
	if !backRE.MatchString(back) {
		back = Prefix
	}
	lead, _ := strconv.ParseInt(r.PostFormValue("lead"), 10, 64)
	act := r.PathValue("action")
	ctx := r.Context()
	var err error
	switch act {
	case "offline":
		err = c.d.Ops.ForceOffline(ctx, s.Manager, r.PostFormValue("manager"))
	case "reassign":
		err = c.d.Ops.Reassign(ctx, s.Manager, lead, r.PostFormValue("to"))
	case "front":
		err = c.d.Ops.MoveToFront(ctx, s.Manager, lead)
	case "close":
		err = c.d.Ops.CloseLead(ctx, s.Manager, lead)
	default:
		c.message(w, r, s, http.StatusNotFound, "console.error.page_not_found")
		return
	}
	if err != nil {
		c.d.Log.Warn("console: action", "action", act, "by", s.Manager, "lead", lead, "err", err)
		http.Redirect(w, r, back+"?err="+errCode(err), http.StatusSeeOther)
		return
	}
	c.d.Log.Info("console: action", "action", act, "by", s.Manager, "lead", lead)
	http.Redirect(w, r, back+"?ok="+act, http.StatusSeeOther)
}
