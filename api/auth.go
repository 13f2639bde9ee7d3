package api

import (
	"net/http"
	"strings"

	"github.com/lidorub/lidorub/router"
)

// Tokens finds managers by API token and tells their role; router.Desk implements it.
// Packages that add their own routes under /api/ (the event webhooks) authenticate with it.
type Tokens interface {
	ManagerByToken(token string) string
	Role(managerID string) string
}

// BearerManager returns the manager whose bearer token the request carries, "" if none.
// The scheme is case-insensitive (RFC 9110, section 11.1).
func BearerManager(t Tokens, r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if token = strings.TrimSpace(token); ok && strings.EqualFold(scheme, "Bearer") && token != "" {
		return t.ManagerByToken(token)
	}
	return ""
}

// Supervisor serves h to supervisors only: 401 without a valid bearer token, 403 for a
// manager who is not a supervisor.
func Supervisor(t Tokens, h func(w http.ResponseWriter, r *http.Request, me string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := BearerManager(t, r)
		if me == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lidorub"`)
			WriteError(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		if t.Role(me) != router.RoleSupervisor {
			WriteError(w, http.StatusForbidden, "supervisors only")
			return
		}
		h(w, r, me)
	})
}
