package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/locale"
)

// Defaults of the Graph API client.
const (
	DefaultGraphURL     = "https://graph.facebook.com"
	DefaultGraphVersion = "v21.0"
	DefaultTimeout      = 15 * time.Second
	// DefaultRetryAfter is used for a Graph rate limit that names no delay.
	DefaultRetryAfter = 60 * time.Second
	// alertEvery throttles repeated token alerts for one account.
	alertEvery = time.Hour
)

// GraphError is the "error" object of a Graph API error response. Its Error text holds only
// the code, type and Meta's message with anything token-like removed: safe for managers.
type GraphError struct {
	HTTPStatus int    `json:"-"`
	Message    string `json:"message"`
	Type       string `json:"type"`
	Code       int    `json:"code"`
	Subcode    int    `json:"error_subcode"`
	FBTraceID  string `json:"fbtrace_id"`
}

func (e *GraphError) Error() string {
	s := "Graph API error " + strconv.Itoa(e.Code)
	if e.Subcode != 0 {
		s += "/" + strconv.Itoa(e.Subcode)
	}
	if e.Type != "" {
		s += " (" + e.Type + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// rateLimitWait lists Graph codes that mean "slow down" and how long to wait when the
// response carries no Retry-After.
var rateLimitWait = map[int]time.Duration{
	4:      DefaultRetryAfter, // application request limit
	17:     DefaultRetryAfter, // user request limit
	32:     DefaultRetryAfter, // page request limit
	613:    DefaultRetryAfter, // calls exceeded the rate limit
	80002:  DefaultRetryAfter, // Instagram business use case rate limit
	80006:  DefaultRetryAfter, // Messenger/Instagram messaging rate limit
	80007:  DefaultRetryAfter, // WhatsApp Business Account rate limit
	130429: 5 * time.Second,   // WhatsApp Cloud API throughput reached
	131048: DefaultRetryAfter, // WhatsApp spam rate limit
	131056: 6 * time.Second,   // WhatsApp pair rate limit (one message per ~6 s to one user)
}

// IsRateLimit reports whether a Graph error code means a rate limit.
func IsRateLimit(code int) bool { _, ok := rateLimitWait[code]; return ok }

// IsTokenError reports whether the error means the access token is expired, revoked or invalid.
func IsTokenError(e *GraphError) bool {
	return e.Code == 190 || e.Code == 102 || (e.Type == "OAuthException" && e.HTTPStatus == http.StatusUnauthorized)
}

// Graph is a minimal Graph API client for the send endpoints.
type Graph struct {
	BaseURL string // e.g. https://graph.facebook.com (tests: an httptest server)
	Version string // e.g. v21.0
	HTTP    *http.Client
	Channel string
	Alerter channels.Alerter // told once an hour per account about an invalid token; may be nil
	Metrics *Metrics         // may be nil
	Clock   clock.Clock
	Log     *slog.Logger

	mu        sync.Mutex
	lastAlert map[string]time.Time
}

// NewGraph returns a client; timeout <= 0 means DefaultTimeout.
func NewGraph(channel, baseURL, version string, timeout time.Duration, alerter channels.Alerter, m *Metrics, clk clock.Clock, log *slog.Logger) *Graph {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if baseURL == "" {
		baseURL = DefaultGraphURL
	}
	if version == "" {
		version = DefaultGraphVersion
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Graph{
		BaseURL: strings.TrimRight(baseURL, "/"), Version: version, Channel: channel,
		HTTP:    &http.Client{Timeout: timeout},
		Alerter: alerter, Metrics: m, Clock: clk, Log: log,
	}
}

// Post sends body as JSON to {BaseURL}/{Version}/{path} with the token as a bearer header
// (never in the URL, so it cannot appear in error texts), decoding a 2xx answer into out.
//
// Errors: a rate limit is a *channels.RetryAfterError; an invalid token is permanent, counted,
// and alerted to ops; any other 4xx is permanent; 5xx and transport errors are temporary.
// The *GraphError stays reachable with errors.As. No error text contains the token.
func (g *Graph) Post(ctx context.Context, account, token, path string, body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return channels.Permanentf("encode request: %v", err)
	}
	url := g.BaseURL + "/" + g.Version + "/" + strings.TrimLeft(path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return channels.Permanentf("build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := g.HTTP.Do(req)
	if err != nil {
		g.count(account, ResultTemporary)
		// *url.Error includes the URL (no token in it) and the cause.
		return fmt.Errorf("%s Graph API request failed: %w", g.Channel, redactErr(err, token))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		g.count(account, ResultTemporary)
		return fmt.Errorf("%s Graph API: read response: %w", g.Channel, redactErr(err, token))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				g.count(account, ResultTemporary)
				return fmt.Errorf("%s Graph API: unexpected response (%d bytes): %w", g.Channel, len(raw), err)
			}
		}
		g.count(account, ResultOK)
		return nil
	}
	return g.mapError(ctx, account, token, resp, raw)
}

func (g *Graph) mapError(ctx context.Context, account, token string, resp *http.Response, raw []byte) error {
	var env struct {
		Error *GraphError `json:"error"`
	}
	_ = json.Unmarshal(raw, &env)
	ge := env.Error
	if ge == nil {
		ge = &GraphError{Message: http.StatusText(resp.StatusCode)}
	}
	ge.HTTPStatus = resp.StatusCode
	ge.Message = SafeText(ge.Message, token)
	ge.FBTraceID = SafeText(ge.FBTraceID, token)

	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	switch {
	case IsRateLimit(ge.Code) || resp.StatusCode == http.StatusTooManyRequests:
		g.count(account, ResultRateLimited)
		after := retryAfter
		if after <= 0 {
			after = rateLimitWait[ge.Code]
		}
		if after <= 0 {
			after = DefaultRetryAfter
		}
		return &channels.RetryAfterError{After: after, Err: ge}
	case IsTokenError(ge):
		g.count(account, ResultTokenInvalid)
		g.alertToken(ctx, account, ge)
		return channels.Permanent(locale.Wrap(ge, "failure.access_token", "channel", channelTitle(g.Channel), "account", account))
	case resp.StatusCode >= 500 || ge.Code == 1 || ge.Code == 2:
		// 1 = unknown error, 2 = service temporarily unavailable: Meta says retry.
		g.count(account, ResultTemporary)
		return fmt.Errorf("%s Graph API temporarily failed (HTTP %d): %w", g.Channel, resp.StatusCode, ge)
	default:
		g.count(account, ResultPermanent)
		return channels.Permanent(ge)
	}
}

func (g *Graph) alertToken(ctx context.Context, account string, ge *GraphError) {
	now := time.Now()
	if g.Clock != nil {
		now = g.Clock.Now()
	}
	g.mu.Lock()
	if g.lastAlert == nil {
		g.lastAlert = map[string]time.Time{}
	}
	last, seen := g.lastAlert[account]
	due := !seen || now.Sub(last) >= alertEvery
	if due {
		g.lastAlert[account] = now
	}
	g.mu.Unlock()
	g.Log.Error("Graph API access token rejected", "channel", g.Channel, "account", account, "code", ge.Code, "subcode", ge.Subcode)
	if !due || g.Alerter == nil {
		return
	}
	reason := locale.M("alert.meta.token", "channel", channelTitle(g.Channel), "account", account,
		"code", fmt.Sprintf("%d/%d", ge.Code, ge.Subcode)).Encode()
	if err := g.Alerter.Alert(ctx, g.Channel, account, reason); err != nil {
		g.Log.Error("could not raise the token alert", "channel", g.Channel, "account", account, "err", err)
	}
}

func (g *Graph) count(account, result string) {
	if g.Metrics != nil {
		g.Metrics.Graph.WithLabelValues(g.Channel, account, result).Inc()
	}
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// tokenLike matches Meta access tokens (EAA..., IG..., IGQ...) and long opaque strings.
var tokenLike = regexp.MustCompile(`\b(?:EAA|IGQ|IGA|IG)[A-Za-z0-9_\-]{16,}|[A-Za-z0-9_\-]{48,}`)

// SafeText removes the token and anything token-like from s and caps its length, so a
// Graph message can be shown to a manager or logged.
func SafeText(s, token string) string {
	if token != "" {
		s = strings.ReplaceAll(s, token, "[redacted]")
	}
	s = tokenLike.ReplaceAllString(s, "[redacted]")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

func redactErr(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return &redacted{msg: SafeText(err.Error(), token), err: errors.Unwrap(err)}
}

// channelTitle is a Meta channel's name for people.
func channelTitle(channel string) string {
	switch channel {
	case channels.Instagram:
		return "Instagram"
	case channels.WhatsAppCloud:
		return "WhatsApp"
	}
	return channel
}
