package vk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client is a thin client of the VK API for one community: every method is a POST of
// form-encoded parameters to base/<method> with access_token and v in the body (never in
// the URL, so no token reaches a log line), answered with {"response": ...} or
// {"error": {...}} (https://dev.vk.com/ru/api/api-requests).
type Client struct {
	base, token, version string
	http                 *http.Client
}

// NewClient returns a client of the API at base for one community token.
func NewClient(base, token, version string, timeout time.Duration) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token, version: version, http: &http.Client{Timeout: timeout}}
}

// Documented error codes (https://dev.vk.com/ru/reference/errors) the channel acts on.
const (
	ErrUnknown          = 1
	ErrAuth             = 5
	ErrTooManyPerSecond = 6
	ErrPermission       = 7
	ErrFlood            = 9
	ErrInternal         = 10
	ErrAccessDenied     = 15
	ErrGroupAuth        = 27
	ErrRateLimit        = 29
	ErrParam            = 100
	ErrBlacklist        = 900
	ErrNoPermission     = 901
	ErrPrivacy          = 902
	ErrTooLong          = 914
)

// APIError is VK's {"error": {...}}.
type APIError struct {
	Method string `json:"-"`
	Code   int    `json:"error_code"`
	Msg    string `json:"error_msg"`
}

func (e *APIError) Error() string { return fmt.Sprintf("vk %s: error %d: %s", e.Method, e.Code, e.Msg) }

// HTTPError is an answer that is not the API's JSON.
type HTTPError struct {
	Method string
	Code   int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("vk %s: HTTP %d", e.Method, e.Code) }

// Call POSTs params to method and decodes "response" into out (may be nil).
func (c *Client) Call(ctx context.Context, method string, params url.Values, out any) error {
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("access_token", c.token)
	form.Set("v", c.version)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+method, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("vk %s: build request: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("vk %s: %w", method, err) // the URL holds no token
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("vk %s: read answer: %w", method, err)
	}
	if res.StatusCode != http.StatusOK {
		return &HTTPError{Method: method, Code: res.StatusCode}
	}
	var env struct {
		Response json.RawMessage `json:"response"`
		Error    *APIError       `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("vk %s: answer is not the API's JSON: %w", method, err)
	}
	if env.Error != nil {
		env.Error.Method = method
		return env.Error
	}
	if env.Response == nil {
		return fmt.Errorf("vk %s: answer without response or error", method)
	}
	if out != nil {
		if err := json.Unmarshal(env.Response, out); err != nil {
			return fmt.Errorf("vk %s: unexpected response: %w", method, err)
		}
	}
	return nil
}

// SendMessage calls messages.send to peer with randomID (VK does not send a message twice
// with the same random_id from one sender) and returns the message id.
func (c *Client) SendMessage(ctx context.Context, peer int64, randomID int32, text string) (int64, error) {
	p := url.Values{}
	p.Set("peer_id", strconv.FormatInt(peer, 10))
	p.Set("random_id", strconv.FormatInt(int64(randomID), 10))
	p.Set("message", text)
	var id int64
	if err := c.Call(ctx, "messages.send", p, &id); err != nil {
		return 0, err
	}
	return id, nil
}
