package viber

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client is a thin client of the Viber REST Bot API: every method is a JSON POST to
// base/<method> with the bot's token in X-Viber-Auth-Token, answered with a JSON object
// whose "status" is 0 on success (https://developers.viber.com/docs/api/rest-bot-api/).
// Errors never contain the token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client of the API at base (e.g. https://chatapi.viber.com/pa) for one
// bot. Every call is bounded by timeout.
func NewClient(base, token string, timeout time.Duration) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: timeout}}
}

// AuthHeader carries the bot's authentication token on every API request.
const AuthHeader = "X-Viber-Auth-Token"

// Documented send_message / set_webhook status codes (Error Codes of the REST Bot API).
const (
	StatusOK                       = 0
	StatusInvalidURL               = 1
	StatusInvalidAuthToken         = 2
	StatusBadData                  = 3
	StatusMissingData              = 4
	StatusReceiverNotRegistered    = 5
	StatusReceiverNotSubscribed    = 6
	StatusPublicAccountBlocked     = 7
	StatusPublicAccountNotFound    = 8
	StatusPublicAccountSuspended   = 9
	StatusWebhookNotSet            = 10
	StatusReceiverNoSuitableDevice = 11
	StatusTooManyRequests          = 12
	StatusAPIVersionNotSupported   = 13
	StatusIncompatibleWithVersion  = 14
	StatusPublicAccountNotAuth     = 15
	StatusUnsupportedCountry       = 21
	StatusFreeMessagesExceeded     = 23
	StatusNoBalance                = 24
)

// APIError is a non-zero status answered by the API.
type APIError struct {
	Method  string
	Status  int
	Message string // status_message, e.g. "notSubscribed"
}

func (e *APIError) Error() string {
	return fmt.Sprintf("viber %s: status %d (%s)", e.Method, e.Status, e.Message)
}

// HTTPError is an answer that is not the API's JSON (a proxy error, an outage).
type HTTPError struct {
	Method string
	Code   int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("viber %s: HTTP %d", e.Method, e.Code) }

type response struct {
	Status        int         `json:"status"`
	StatusMessage string      `json:"status_message"`
	MessageToken  json.Number `json:"message_token"`
	EventTypes    []string    `json:"event_types"`
	ChatHostname  string      `json:"chat_hostname"`
}

// call POSTs req to method and decodes the answer; a non-zero status is an *APIError.
func (c *Client) call(ctx context.Context, method string, req any) (response, error) {
	var resp response
	body, err := json.Marshal(req)
	if err != nil {
		return resp, fmt.Errorf("viber %s: encode request: %w", method, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+method, bytes.NewReader(body))
	if err != nil {
		return resp, fmt.Errorf("viber %s: build request: %w", method, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(AuthHeader, c.token)
	res, err := c.http.Do(hr)
	if err != nil {
		// *url.Error names the URL, which holds no secret (the token is a header).
		return resp, fmt.Errorf("viber %s: %w", method, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return resp, fmt.Errorf("viber %s: read answer: %w", method, err)
	}
	if res.StatusCode != http.StatusOK {
		return resp, &HTTPError{Method: method, Code: res.StatusCode}
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return resp, fmt.Errorf("viber %s: answer is not the API's JSON: %w", method, err)
	}
	if resp.Status != StatusOK {
		return resp, &APIError{Method: method, Status: resp.Status, Message: resp.StatusMessage}
	}
	return resp, nil
}

// WebhookRequest is set_webhook's body.
type WebhookRequest struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types,omitempty"`
	SendName   bool     `json:"send_name"`
	SendPhoto  bool     `json:"send_photo"`
}

// SetWebhook registers the bot's callback URL. Viber checks it at once with a "webhook"
// callback, which must be answered 200. It returns the event types Viber will send.
func (c *Client) SetWebhook(ctx context.Context, req WebhookRequest) ([]string, error) {
	resp, err := c.call(ctx, "set_webhook", req)
	return resp.EventTypes, err
}

// Sender is send_message's sender.
type Sender struct {
	Name   string `json:"name"`
	Avatar string `json:"avatar,omitempty"`
}

// Message is send_message's body (one message of one type).
type Message struct {
	Receiver      string  `json:"receiver"`
	MinAPIVersion int     `json:"min_api_version,omitempty"`
	Sender        Sender  `json:"sender"`
	TrackingData  string  `json:"tracking_data,omitempty"`
	Type          string  `json:"type"` // text, picture, video, file
	Text          string  `json:"text,omitempty"`
	Media         string  `json:"media,omitempty"`
	Thumbnail     string  `json:"thumbnail,omitempty"`
	Size          int64   `json:"size,omitempty"`
	FileName      string  `json:"file_name,omitempty"`
	Duration      int     `json:"duration,omitempty"`
	Location      *LatLon `json:"location,omitempty"`
}

// LatLon is a location.
type LatLon struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// SendMessage sends one message and returns its message_token (which delivered, seen and
// failed callbacks name).
func (c *Client) SendMessage(ctx context.Context, m Message) (string, error) {
	resp, err := c.call(ctx, "send_message", m)
	if err != nil {
		return "", err
	}
	if resp.MessageToken == "" {
		return "", fmt.Errorf("viber send_message: accepted without a message_token")
	}
	return resp.MessageToken.String(), nil
}
