package webhooks

import (
	"errors"
	"net/http"

	"github.com/lidorub/lidorub/api"
)

// Register adds the supervisors' routes to mux:
//
//	GET  /api/v1/webhooks                     every endpoint: enabled, disabled (by a 410), pending, dead
//	POST /api/v1/webhooks/{endpoint}/replay   re-enable the endpoint and queue its dead letters again;
//	                                          answers {"endpoint": id, "enabled": true, "replayed": n}
func (s *Service) Register(mux *http.ServeMux, tokens api.Tokens) {
	mux.Handle("GET /api/v1/webhooks", api.Supervisor(tokens, func(w http.ResponseWriter, r *http.Request, _ string) {
		st, err := s.Status(r.Context())
		if err != nil {
			s.log.Error("webhook status failed", "err", err)
			api.WriteError(w, http.StatusServiceUnavailable, "temporarily unavailable, try again")
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"endpoints": st})
	}))
	mux.Handle("POST /api/v1/webhooks/{endpoint}/replay", api.Supervisor(tokens, func(w http.ResponseWriter, r *http.Request, me string) {
		id := r.PathValue("endpoint")
		n, err := s.Replay(r.Context(), id)
		switch {
		case errors.Is(err, ErrUnknownEndpoint):
			api.WriteError(w, http.StatusNotFound, "no such webhook endpoint")
			return
		case err != nil:
			s.log.Error("webhook replay failed", "endpoint", id, "err", err)
			api.WriteError(w, http.StatusServiceUnavailable, "temporarily unavailable, try again")
			return
		}
		s.log.Info("webhook replay requested", "endpoint", id, "by", me)
		api.WriteJSON(w, http.StatusOK, map[string]any{"endpoint": id, "enabled": true, "replayed": n})
	}))
}
