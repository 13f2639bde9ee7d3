package telegram

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// maxUpdateBytes bounds a webhook body (a Telegram update is a few kilobytes).
const maxUpdateBytes = 1 << 20

// Register adds POST /webhooks/telegram/{bot} to mux.
func (c *Channel) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/telegram/{bot}", c.serveWebhook)
}

// serveWebhook checks the secret token in constant time, ingests the update and answers 200
// only after that. A body that is not an update at all is 400; an update Telegram sent that
// we cannot decode is counted, logged and acknowledged (retrying would not fix it).
func (c *Channel) serveWebhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("bot")
	b := c.bots[name]
	if b == nil || b.cfg.Mode != ModeWebhook {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown bot"})
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(b.cfg.WebhookSecret)) != 1 {
		c.m.rejected.WithLabelValues(name, "secret").Inc()
		c.d.Log.Warn("telegram webhook: wrong secret token", "bot", name, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid secret token"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpdateBytes))
	if err != nil {
		c.m.rejected.WithLabelValues(name, "body").Inc()
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, status, map[string]string{"error": "could not read the body"})
		return
	}
	u, id, err := decodeUpdate(body)
	if err != nil {
		if errors.Is(err, errNoUpdateID) {
			c.m.rejected.WithLabelValues(name, "body").Inc()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "not a Telegram update"})
			return
		}
		c.m.updates.WithLabelValues(name, resMalformed).Inc()
		c.d.Log.Warn("telegram update skipped: malformed", "bot", name, "update_id", id, "bytes", len(body), "err", err)
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return
	}
	if err := c.dispatch(r.Context(), b, &u); err != nil {
		c.m.updates.WithLabelValues(name, resFailed).Inc()
		c.d.Log.Error("telegram webhook update not stored", "bot", name, "update_id", id, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily unable to store the update"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
