package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"golang.org/x/time/rate"
)

// Client is one bot token's connection to the Bot API: the library with HTTP timeouts and
// context cancellation, errors with the token redacted, and the per-chat and global send
// limits. The customer channel and the staff bot share one Client when they share a token.
type Client struct {
	token       string
	endpoint    string // fmt pattern: token, then method
	timeout     time.Duration
	pollTimeout time.Duration
	global      *rate.Limiter
	chatRate    rate.Limit
	chatBurst   int

	mu    sync.Mutex
	chats map[int64]*chatLimiter
	self  *tgbotapi.User
}

type chatLimiter struct {
	lim  *rate.Limiter
	used time.Time
}

// NewClient returns a client for token. It makes no request until used.
func NewClient(cfg *Config, token string) *Client {
	return &Client{
		token:       token,
		endpoint:    strings.TrimRight(cfg.APIURL, "/") + "/bot%s/%s",
		timeout:     cfg.RequestTimeout,
		pollTimeout: cfg.PollTimeout,
		global:      rate.NewLimiter(rate.Limit(cfg.GlobalRate), max(1, int(cfg.GlobalRate))),
		chatRate:    rate.Limit(cfg.PerChatRate),
		chatBurst:   cfg.PerChatBurst,
		chats:       map[int64]*chatLimiter{},
	}
}

// ctxTransport binds every request to a context, so cancelling it aborts a call the library
// started without one.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// api returns a library handle whose requests honour ctx and time out after timeout.
// It does not call getMe (see Me).
func (c *Client) api(ctx context.Context, timeout time.Duration) *tgbotapi.BotAPI {
	hc := &http.Client{Timeout: timeout, Transport: ctxTransport{ctx: ctx, base: http.DefaultTransport}}
	b := &tgbotapi.BotAPI{Token: c.token, Client: hc, Buffer: 100}
	b.SetAPIEndpoint(c.endpoint)
	c.mu.Lock()
	if c.self != nil {
		b.Self = *c.self
	}
	c.mu.Unlock()
	return b
}

// Me calls getMe once (checking the token) and remembers the bot's user.
func (c *Client) Me(ctx context.Context) (tgbotapi.User, error) {
	c.mu.Lock()
	if c.self != nil {
		u := *c.self
		c.mu.Unlock()
		return u, nil
	}
	c.mu.Unlock()
	hc := &http.Client{Timeout: c.timeout, Transport: ctxTransport{ctx: ctx, base: http.DefaultTransport}}
	b, err := tgbotapi.NewBotAPIWithClient(c.token, c.endpoint, hc)
	if err != nil {
		return tgbotapi.User{}, c.redact(err)
	}
	c.mu.Lock()
	c.self = &b.Self
	c.mu.Unlock()
	return b.Self, nil
}

// Call makes one Bot API request with form parameters.
func (c *Client) Call(ctx context.Context, method string, params tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	resp, err := c.api(ctx, c.timeout).MakeRequest(method, params)
	return resp, c.redact(err)
}

// Request sends a Chattable that does not post to a chat (callback answers, edits).
func (c *Client) Request(ctx context.Context, ch tgbotapi.Chattable) (*tgbotapi.APIResponse, error) {
	resp, err := c.api(ctx, c.timeout).Request(ch)
	return resp, c.redact(err)
}

// Send posts a message to chatID after waiting for the per-chat and global limits.
func (c *Client) Send(ctx context.Context, chatID int64, ch tgbotapi.Chattable) (tgbotapi.Message, error) {
	if err := c.wait(ctx, chatID); err != nil {
		return tgbotapi.Message{}, err
	}
	m, err := c.api(ctx, c.timeout).Send(ch)
	return m, c.redact(err)
}

// poll calls getUpdates and returns the raw result array.
func (c *Client) poll(ctx context.Context, offset int64, timeout time.Duration, allowed []string) ([]json.RawMessage, error) {
	params := tgbotapi.Params{
		"offset":  strconv.FormatInt(offset, 10),
		"limit":   "100",
		"timeout": strconv.Itoa(int(timeout / time.Second)),
	}
	if err := params.AddInterface("allowed_updates", allowed); err != nil {
		return nil, err
	}
	resp, err := c.api(ctx, timeout+c.timeout).MakeRequest("getUpdates", params)
	if err != nil {
		return nil, c.redact(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(resp.Result, &raw); err != nil {
		return nil, fmt.Errorf("getUpdates: result is not an array: %w", err)
	}
	return raw, nil
}

// wait blocks until a message to chatID may be sent under both limits.
func (c *Client) wait(ctx context.Context, chatID int64) error {
	c.mu.Lock()
	now := time.Now()
	cl := c.chats[chatID]
	if cl == nil {
		if len(c.chats) > 10000 { // forget idle chats
			for id, l := range c.chats {
				if now.Sub(l.used) > time.Minute {
					delete(c.chats, id)
				}
			}
		}
		cl = &chatLimiter{lim: rate.NewLimiter(c.chatRate, c.chatBurst)}
		c.chats[chatID] = cl
	}
	cl.used = now
	c.mu.Unlock()
	if err := cl.lim.Wait(ctx); err != nil {
		return fmt.Errorf("per-chat rate limit: %w", err)
	}
	if err := c.global.Wait(ctx); err != nil {
		return fmt.Errorf("global rate limit: %w", err)
	}
	return nil
}

// redactedError hides the token that net/http puts into URL errors.
type redactedError struct {
	msg     string
	timeout bool
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Timeout() bool { return e.timeout }

// redact returns err with the token removed from its text. Bot API errors (*tgbotapi.Error)
// never contain it and are returned as they are, so callers can inspect them.
func (c *Client) redact(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *tgbotapi.Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	msg := err.Error()
	if c.token != "" {
		msg = strings.ReplaceAll(msg, c.token, "<token>")
	}
	var te interface{ Timeout() bool }
	return &redactedError{msg: msg, timeout: errors.As(err, &te) && te.Timeout()}
}

// APIError returns the Bot API error inside err, if any.
func APIError(err error) *tgbotapi.Error {
	var e *tgbotapi.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
