package amocrm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/crm"
)

// client calls amoCRM API v4 with the long-lived token (Authorization: Bearer).
type client struct {
	base  string
	token string
	http  *http.Client
}

// problem is amoCRM's error body (application/problem+json).
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// do sends a JSON request and decodes a 2xx answer into out (a 204 leaves out as it is and
// reports noContent). Failures are *crm.Error classified by HTTP status.
func (c *client) do(ctx context.Context, method, path string, body, out any) (noContent bool, err error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return false, &crm.Error{Kind: crm.Permanent, Err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return false, &crm.Error{Kind: crm.Permanent, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, &crm.Error{Kind: crm.Temporary, Err: errors.New(redact(err.Error(), c.token))}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return true, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if out == nil {
			return false, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return false, &crm.Error{Kind: crm.Temporary, Status: resp.StatusCode, Err: fmt.Errorf("%s %s: undecodable answer: %w", method, pathOnly(path), err)}
		}
		return false, nil
	}
	var p problem
	_ = json.Unmarshal(data, &p)
	e := &crm.Error{Status: resp.StatusCode, Code: p.Title, Err: fmt.Errorf("%s %s", method, pathOnly(path))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = crm.Throttled, retryAfter(resp.Header.Get("Retry-After"))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusPaymentRequired:
		e.Kind = crm.Unauthorized
	case resp.StatusCode >= 500:
		e.Kind = crm.Temporary
	default:
		e.Kind = crm.Permanent
	}
	return false, e
}

func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// pathOnly drops the query (it may hold a lead's title).
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[token]")
}
