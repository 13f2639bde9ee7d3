package bitrix24

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/lidorub/lidorub/crm"
)

// client calls Bitrix24 REST methods through the incoming webhook: POST <webhook_url><method>.json
// with a JSON body; answers are {"result": ..., "time": {...}} or {"error", "error_description"}.
type client struct {
	base string // ends with '/'; holds the webhook's secret code: never logged
	http *http.Client
}

type answer struct {
	Result           json.RawMessage `json:"result"`
	Next             *int            `json:"next"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

// unauthorized are the error codes of a refused webhook (alerted).
var unauthorized = map[string]bool{"expired_token": true, "invalid_token": true, "INVALID_CREDENTIALS": true,
	"NO_AUTH_FOUND": true, "ACCESS_DENIED": true, "insufficient_scope": true, "WRONG_AUTH_TYPE": true, "authorization_error": true}

func (c *client) call(ctx context.Context, method string, params any) (answer, error) {
	var a answer
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // filters like ">DATE_MODIFY" stay readable
	if err := enc.Encode(params); err != nil {
		return a, &crm.Error{Kind: crm.Permanent, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method+".json", bytes.NewReader(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
	if err != nil {
		return a, &crm.Error{Kind: crm.Permanent, Err: fmt.Errorf("%s: bad webhook_url", method)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text has the URL with the webhook's code
			err = ue.Err
		}
		return a, &crm.Error{Kind: crm.Temporary, Err: fmt.Errorf("%s: %s", method, strings.ReplaceAll(err.Error(), c.base, "[webhook_url]"))}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	jerr := json.Unmarshal(data, &a)
	if a.Error == "" && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if jerr != nil {
			return a, &crm.Error{Kind: crm.Temporary, Status: resp.StatusCode, Err: fmt.Errorf("%s: undecodable answer", method)}
		}
		return a, nil
	}
	e := &crm.Error{Status: resp.StatusCode, Code: a.Error, Err: errors.New(method)}
	switch {
	case a.Error == "QUERY_LIMIT_EXCEEDED" || a.Error == "OVERLOAD_LIMIT" || resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = crm.Throttled
	case unauthorized[a.Error] || resp.StatusCode == http.StatusUnauthorized:
		e.Kind = crm.Unauthorized
	case resp.StatusCode >= 500 || a.Error == "INTERNAL_SERVER_ERROR" || a.Error == "ERROR_UNEXPECTED_ANSWER":
		e.Kind = crm.Temporary
	default:
		e.Kind = crm.Permanent
	}
	return a, e
}
