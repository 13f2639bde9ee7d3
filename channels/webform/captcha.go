package webform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CaptchaVerifier checks a captcha token submitted with the form. Return an error wrapping
// ErrCaptchaRejected when the token is missing, invalid or expired (the visitor gets 422,
// field "captcha"); any other error means the provider could not be asked (503: the client
// retries, the lead is not lost).
type CaptchaVerifier interface {
	Verify(ctx context.Context, token, remoteIP string) error
}

// ErrCaptchaRejected means the provider said no.
var ErrCaptchaRejected = errors.New("captcha verification failed")

// HTTPCaptcha verifies tokens with a siteverify endpoint (Google reCAPTCHA, hCaptcha,
// Cloudflare Turnstile): a form POST of secret, response and remoteip answered with JSON
// {"success": true|false, ...}.
type HTTPCaptcha struct {
	URL    string
	Secret string
	Client *http.Client
}

// NewHTTPCaptcha returns a verifier for c.
func NewHTTPCaptcha(c CaptchaConfig) *HTTPCaptcha {
	t := c.Timeout
	if t <= 0 {
		t = DefaultCaptchaTimeout
	}
	return &HTTPCaptcha{URL: c.VerifyURL, Secret: c.Secret, Client: &http.Client{Timeout: t}}
}

// Verify asks the provider about token.
func (v *HTTPCaptcha) Verify(ctx context.Context, token, remoteIP string) error {
	if token == "" {
		return fmt.Errorf("%w: no token", ErrCaptchaRejected)
	}
	form := url.Values{"secret": {v.Secret}, "response": {token}}
	if remoteIP != "" {
		form.Set("remoteip", remoteIP)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return errors.New("captcha: bad verify_url")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := v.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultCaptchaTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error carries the URL only (the secret is in the body): safe to wrap.
		return fmt.Errorf("captcha provider unreachable: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("captcha provider: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("captcha provider answered HTTP %d", resp.StatusCode)
	}
	var ans struct {
		Success    bool     `json:"success"`
		ErrorCodes []string `json:"error-codes"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return errors.New("captcha provider: answer is not JSON")
	}
	if !ans.Success {
		return fmt.Errorf("%w: %s", ErrCaptchaRejected, strings.Join(ans.ErrorCodes, ","))
	}
	return nil
}

// captchaTimeout bounds one verification when the verifier has no timeout of its own.
const captchaTimeout = 10 * time.Second
