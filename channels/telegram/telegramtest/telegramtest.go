// Package telegramtest is a fake Telegram Bot API server for tests. It speaks the wire
// format the real server does (form-encoded POSTs to /bot<token>/<method>, JSON
// {"ok":..,"result":..} answers with error_code, description and parameters.retry_after),
// queues updates for getUpdates, records every call and can be told to fail the next ones.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one request the fake received.
type Call struct {
	Token  string
	Method string
	Params url.Values
	// MessageID is the id the fake gave the sent message (0 for other methods and failures).
	MessageID int
}

// ChatID returns the chat_id parameter.
func (c Call) ChatID() int64 {
	n, _ := strconv.ParseInt(c.Params.Get("chat_id"), 10, 64)
	return n
}

// Failure is a scripted error answer.
type Failure struct {
	Code        int
	Description string
	RetryAfter  int
}

type update struct {
	id     int64
	raw    json.RawMessage
	replay bool // returned once whatever the offset (a replay by Telegram)
}

// Server is the fake Bot API.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	calls   []Call
	updates map[string][]update // by token
	fail    map[string][]Failure
	nextMsg int
	// failChat makes every send to a chat fail (a customer who blocked the bot).
	failChat map[int64]Failure
	// pushed is closed and replaced whenever an update is queued (wakes long polls).
	pushed chan struct{}
}

// New starts a fake server closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{updates: map[string][]update{}, fail: map[string][]Failure{}, failChat: map[int64]Failure{}, nextMsg: 1000,
		pushed: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Endpoint is the pattern for tgbotapi.NewBotAPIWithAPIEndpoint.
func (s *Server) Endpoint() string { return s.URL + "/bot%s/%s" }

// PushUpdate queues an update (raw JSON; its update_id is read leniently) for getUpdates on token.
func (s *Server) PushUpdate(token string, raw []byte) {
	var head struct {
		UpdateID int64 `json:"update_id"`
	}
	_ = json.Unmarshal(raw, &head)
	if head.UpdateID == 0 {
		// a malformed fixture: find "update_id": N by hand
		str := string(raw)
		if i := strings.Index(str, `"update_id":`); i >= 0 {
			rest := strings.TrimLeft(str[i+len(`"update_id":`):], " ")
			j := strings.IndexAny(rest, ",}")
			head.UpdateID, _ = strconv.ParseInt(strings.TrimSpace(rest[:j]), 10, 64)
		}
	}
	s.mu.Lock()
	s.updates[token] = append(s.updates[token], update{id: head.UpdateID, raw: raw})
	close(s.pushed)
	s.pushed = make(chan struct{})
	s.mu.Unlock()
}

// ReplayUpdate queues raw to be returned by the next getUpdates whatever its offset, once:
// Telegram replaying an update that was already confirmed.
func (s *Server) ReplayUpdate(token string, raw []byte) {
	var head struct {
		UpdateID int64 `json:"update_id"`
	}
	_ = json.Unmarshal(raw, &head)
	s.mu.Lock()
	s.updates[token] = append(s.updates[token], update{id: head.UpdateID, raw: raw, replay: true})
	close(s.pushed)
	s.pushed = make(chan struct{})
	s.mu.Unlock()
}

// Pending is how many queued updates Telegram has not yet seen confirmed.
func (s *Server) Pending(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates[token])
}

// FailNext makes the next call of method fail with f (queued: one failure per call).
func (s *Server) FailNext(method string, f Failure) {
	s.mu.Lock()
	s.fail[method] = append(s.fail[method], f)
	s.mu.Unlock()
}

// FailChat makes every send to chatID fail with f.
func (s *Server) FailChat(chatID int64, f Failure) {
	s.mu.Lock()
	s.failChat[chatID] = f
	s.mu.Unlock()
}

// Calls returns the calls of method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets recorded calls.
func (s *Server) Reset() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// /bot<token>/<method>
	path := strings.TrimPrefix(r.URL.Path, "/bot")
	token, method, ok := strings.Cut(path, "/")
	if !ok || r.Method != http.MethodPost {
		reply(w, http.StatusNotFound, map[string]any{"ok": false, "error_code": 404, "description": "Not Found"})
		return
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		reply(w, http.StatusBadRequest, map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: " + err.Error()})
		return
	}
	params := r.Form
	s.mu.Lock()
	s.calls = append(s.calls, Call{Token: token, Method: method, Params: params})
	idx := len(s.calls) - 1
	var f *Failure
	if q := s.fail[method]; len(q) > 0 {
		f = &q[0]
		s.fail[method] = q[1:]
	} else if strings.HasPrefix(method, "send") {
		chat, _ := strconv.ParseInt(params.Get("chat_id"), 10, 64)
		if cf, ok := s.failChat[chat]; ok {
			f = &cf
		}
	}
	s.mu.Unlock()
	if f != nil {
		body := map[string]any{"ok": false, "error_code": f.Code, "description": f.Description}
		if f.RetryAfter > 0 {
			body["parameters"] = map[string]any{"retry_after": f.RetryAfter}
		}
		reply(w, f.Code, body)
		return
	}
	switch method {
	case "getMe":
		id, _, _ := strings.Cut(token, ":")
		n, _ := strconv.ParseInt(id, 10, 64)
		ok200(w, map[string]any{"id": n, "is_bot": true, "first_name": "Test Bot", "username": "test_" + id + "_bot"})
	case "getUpdates":
		offset, _ := strconv.ParseInt(params.Get("offset"), 10, 64)
		limit, _ := strconv.Atoi(params.Get("limit"))
		if limit <= 0 {
			limit = 100
		}
		timeout, _ := strconv.Atoi(params.Get("timeout"))
		deadline := time.NewTimer(time.Duration(timeout) * time.Second)
		defer deadline.Stop()
		for {
			out, wake := s.take(token, offset, limit)
			if len(out) > 0 || timeout == 0 {
				ok200(w, out)
				return
			}
			// long poll: wait for an update, the timeout, or the client going away
			select {
			case <-wake:
			case <-deadline.C:
				ok200(w, []json.RawMessage{})
				return
			case <-r.Context().Done():
				return
			}
		}
	case "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice", "sendSticker":
		chat, _ := strconv.ParseInt(params.Get("chat_id"), 10, 64)
		s.mu.Lock()
		s.nextMsg++
		id := s.nextMsg
		if idx < len(s.calls) {
			s.calls[idx].MessageID = id
		}
		s.mu.Unlock()
		msg := map[string]any{"message_id": id, "date": 1700000000, "chat": map[string]any{"id": chat, "type": "private"}}
		if t := params.Get("text"); t != "" {
			msg["text"] = t
		}
		ok200(w, msg)
	case "editMessageText", "editMessageReplyMarkup":
		chat, _ := strconv.ParseInt(params.Get("chat_id"), 10, 64)
		id, _ := strconv.Atoi(params.Get("message_id"))
		ok200(w, map[string]any{"message_id": id, "date": 1700000000, "chat": map[string]any{"id": chat, "type": "private"}, "text": params.Get("text")})
	case "answerCallbackQuery", "setWebhook", "deleteWebhook", "setMyCommands":
		ok200(w, true)
	default:
		reply(w, http.StatusNotFound, map[string]any{"ok": false, "error_code": 404, "description": fmt.Sprintf("Not Found: method %s", method)})
	}
}

// take drops updates before offset (Telegram's confirmation) and returns up to limit of the rest.
func (s *Server) take(token string, offset int64, limit int) ([]json.RawMessage, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.updates[token]
	kept := q[:0]
	out := []json.RawMessage{}
	for _, u := range q {
		switch {
		case u.replay:
			if len(out) < limit {
				out = append(out, u.raw) // handed out once, then forgotten
			} else {
				kept = append(kept, u)
			}
		case u.id >= offset:
			kept = append(kept, u)
			if len(out) < limit {
				out = append(out, u.raw)
			}
		}
	}
	s.updates[token] = kept
	return out, s.pushed
}

func ok200(w http.ResponseWriter, result any) {
	reply(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
