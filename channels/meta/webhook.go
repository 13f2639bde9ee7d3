// Package meta is the part Instagram Messaging and the WhatsApp Cloud API share: Meta's
// webhook handshake and signature check, the "answer 200 only when the batch is durable"
// ingest loop, a small Graph API client that maps Graph errors onto the channels error
// kinds, the per-contact messaging window kept in Redis, and the metrics of both.
package meta

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lidorub/lidorub/channels"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>".
const SignatureHeader = "X-Hub-Signature-256"

// DefaultMaxBody is the default webhook body limit. Meta batches are small (kilobytes), but a
// burst can batch many updates into one delivery.
const DefaultMaxBody = 4 << 20

// Sign returns the X-Hub-Signature-256 value for body: what Meta sends and what tests use.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is the valid signature of the raw body bytes.
// The comparison is constant-time; a missing or malformed header is invalid.
func VerifySignature(secret string, body []byte, header string) bool {
	if secret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Batch is what a parser found in one webhook body.
type Batch struct {
	Items []channels.Inbound
	// Ignored counts updates deliberately dropped (echoes, reads of nothing, system messages,
	// fields we do not handle).
	Ignored int
	// UnknownAccounts lists entry account ids that are not configured (their updates are dropped).
	UnknownAccounts []string
	// Errors are problems Meta reports for the whole app or account instead of updates
	// (WhatsApp's webhook-level "errors"), as texts safe to log: code, title and details.
	Errors []string
}

// Parser turns one verified webhook body into inbound items. It must not panic on any input
// (both parsers are fuzzed). An error means the body is not a Meta payload at all.
type Parser func(body []byte) (Batch, error)

// Webhook serves one Meta webhook endpoint (GET verification and POST deliveries).
type Webhook struct {
	Channel     string // metric label and log field
	AppSecret   string
	VerifyToken string
	MaxBody     int64 // 0 means DefaultMaxBody
	Parse       Parser
	Ingester    channels.Ingester
	// AfterIngest runs for every item once it is durable (duplicates included), e.g. to
	// record the customer's messaging window. An error fails the delivery (Meta retries).
	AfterIngest func(ctx context.Context, in channels.Inbound) error
	Log         *slog.Logger
	Metrics     *Metrics
}

// Register adds GET and POST handlers for path to mux.
func (w *Webhook) Register(mux *http.ServeMux, path string) {
	mux.HandleFunc("GET "+path, w.ServeVerify)
	mux.HandleFunc("POST "+path, w.ServeDelivery)
}

// Handler returns the handlers for path alone (GET and POST), for tests and custom muxes.
func (w *Webhook) Handler(path string) http.Handler {
	mux := http.NewServeMux()
	w.Register(mux, path)
	return mux
}

// ServeVerify answers Meta's subscription handshake: 200 with hub.challenge as the plain
// body when hub.mode is "subscribe" and hub.verify_token matches, else 403.
func (w *Webhook) ServeVerify(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mode, token, challenge := q.Get("hub.mode"), q.Get("hub.verify_token"), q.Get("hub.challenge")
	if mode != "subscribe" || w.VerifyToken == "" || challenge == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(w.VerifyToken)) != 1 {
		w.count("verify_failed")
		w.log().Warn("meta webhook verification refused", "channel", w.Channel, "mode", mode)
		writeError(rw, http.StatusForbidden, "verification failed")
		return
	}
	w.count("verify_ok")
	// The body is the caller's hub.challenge: plain text, never sniffed as anything else.
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(rw, challenge)
}

// ServeDelivery checks the signature over the raw body, parses it and ingests every item. It
// answers 200 only when every item is durable in Redis; otherwise 500, and Meta's retry is
// made harmless by the ingest dedupe.
func (w *Webhook) ServeDelivery(rw http.ResponseWriter, r *http.Request) {
	limit := w.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.count("too_large")
			w.log().Warn("meta webhook body too large", "channel", w.Channel, "limit", limit)
			writeError(rw, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		w.count("read_error")
		writeError(rw, http.StatusBadRequest, "cannot read body")
		return
	}
	if !VerifySignature(w.AppSecret, body, r.Header.Get(SignatureHeader)) {
		w.count("bad_signature")
		w.log().Warn("meta webhook signature missing or invalid", "channel", w.Channel,
			"has_header", r.Header.Get(SignatureHeader) != "", "bytes", len(body))
		writeError(rw, http.StatusUnauthorized, "invalid signature")
		return
	}
	batch, err := w.Parse(body)
	if err != nil {
		w.count("bad_payload")
		w.log().Warn("meta webhook payload not understood", "channel", w.Channel, "bytes", len(body), "err", err)
		writeError(rw, http.StatusBadRequest, "payload not understood")
		return
	}
	if len(batch.UnknownAccounts) > 0 {
		w.count("unknown_account")
		w.log().Warn("meta webhook: updates for accounts that are not configured were dropped", "channel", w.Channel,
			"accounts", batch.UnknownAccounts)
	}
	if len(batch.Errors) > 0 {
		if w.Metrics != nil {
			w.Metrics.Errors.WithLabelValues(w.Channel).Add(float64(len(batch.Errors)))
		}
		w.log().Warn("meta webhook: Meta reported errors instead of updates", "channel", w.Channel, "errors", batch.Errors)
	}
	items := batch.Items
	ctx := r.Context()
	dups := 0
	for _, in := range items {
		res, err := w.Ingester.Ingest(ctx, in)
		if err == nil && w.AfterIngest != nil {
			err = w.AfterIngest(ctx, in)
		}
		if err != nil {
			w.count("ingest_error")
			w.log().Error("meta webhook: could not store an item, asking Meta to retry", "channel", w.Channel,
				"account", in.Account, "message_id", in.MessageID, "err", err)
			writeError(rw, http.StatusInternalServerError, "temporarily unavailable")
			return
		}
		if res.Duplicate {
			dups++
		}
		if w.Metrics != nil {
			w.Metrics.Items.WithLabelValues(w.Channel, kindOf(in)).Inc()
		}
	}
	w.count("ok")
	w.log().Debug("meta webhook delivery stored", "channel", w.Channel, "items", len(items), "duplicates", dups, "ignored", batch.Ignored, "bytes", len(body))
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(rw, `{"status":"ok"}`)
}

func kindOf(in channels.Inbound) string {
	if in.Kind == "" {
		return channels.KindMessage
	}
	return in.Kind
}

func (w *Webhook) count(result string) {
	if w.Metrics != nil {
		w.Metrics.Webhook.WithLabelValues(w.Channel, result).Inc()
	}
}

func (w *Webhook) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

func writeError(rw http.ResponseWriter, status int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": msg})
}
