package webform

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lidorub/lidorub/internal/phone"
)

// Field names accepted in the body (JSON keys or form field names).
const (
	fName         = "name"
	fPhone        = "phone"
	fEmail        = "email"
	fMessage      = "message"
	fConsent      = "consent"
	fPageURL      = "page_url"
	fCaptchaToken = "captcha_token"
)

// utmFields are copied to Inbound.Meta under the same names.
var utmFields = []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

// captchaAliases are the field names captcha widgets add to a form by themselves
// (reCAPTCHA, hCaptcha, Cloudflare Turnstile); captcha_token wins when both are present.
var captchaAliases = []string{"g-recaptcha-response", "h-captcha-response", "cf-turnstile-response"}

// maxChars is the limit of every text field, in characters (runes).
var maxChars = map[string]int{
	fName:          200,
	fPhone:         64,
	fEmail:         254,
	fMessage:       4000,
	fConsent:       16,
	fPageURL:       2000,
	fCaptchaToken:  4096,
	"utm_source":   200,
	"utm_medium":   200,
	"utm_campaign": 200,
	"utm_term":     200,
	"utm_content":  200,
	// captchaAliases
	"g-recaptcha-response":  4096,
	"h-captcha-response":    4096,
	"cf-turnstile-response": 4096,
}

// apiError is an HTTP error answer: {"error": msg, "field": field}. Messages never contain
// the submitted values.
type apiError struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	Field  string `json:"field,omitempty"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

func badRequest(msg string) *apiError { return &apiError{Status: http.StatusBadRequest, Msg: msg} }
func invalid(field, msg string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Msg: msg, Field: field}
}

// lead is a validated, normalised form submission.
type lead struct {
	Name         string
	Phone        string // E.164 or ""
	Email        string // as submitted (trimmed) or ""
	Message      string
	PageURL      string
	UTM          map[string]string // non-empty utm_* only
	CaptchaToken string
}

// contactID is the E.164 phone, else the lower-cased email.
func (l *lead) contactID() string {
	if l.Phone != "" {
		return l.Phone
	}
	return strings.ToLower(l.Email)
}

// rawForm is the body decoded to field -> value, before validation. Known fields only.
type rawForm struct {
	values  map[string]string
	consent bool
}

// parseForm decodes and validates a body of the given Content-Type. It never panics and
// never echoes field values in its errors. region is the default region for phone numbers.
func parseForm(contentType string, body []byte, region string) (*lead, *apiError) {
	raw, aerr := decodeBody(contentType, body)
	if aerr != nil {
		return nil, aerr
	}
	return validate(raw, region)
}

// mediaType returns the lower-cased media type of a Content-Type header, or a 415.
func mediaType(contentType string) (string, map[string]string, *apiError) {
	switch contentType { // what mime.ParseMediaType gives for the usual headers, without its allocations
	case "application/json", "application/json; charset=utf-8", "application/json;charset=utf-8", "application/json; charset=UTF-8":
		return "application/json", nil, nil
	case "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded; charset=UTF-8":
		return "application/x-www-form-urlencoded", nil, nil
	}
	unsupported := &apiError{Status: http.StatusUnsupportedMediaType,
		Msg: "Content-Type must be application/json, application/x-www-form-urlencoded or multipart/form-data"}
	if contentType == "" {
		return "", nil, unsupported
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", nil, unsupported
	}
	switch mt {
	case "application/json", "application/x-www-form-urlencoded", "multipart/form-data":
	default:
		return "", nil, unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return "", nil, &apiError{Status: http.StatusUnsupportedMediaType, Msg: "charset must be utf-8"}
	}
	return mt, params, nil
}

// decodeBody turns the body into known fields. Unknown fields are ignored.
func decodeBody(contentType string, body []byte) (*rawForm, *apiError) {
	mt, params, aerr := mediaType(contentType)
	if aerr != nil {
		return nil, aerr
	}
	switch mt {
	case "application/json":
		return decodeJSON(body)
	case "multipart/form-data":
		return decodeMultipart(body, params["boundary"])
	default:
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest("malformed form body")
		}
		return fromValues(q)
	}
}

func fromValues(q url.Values) (*rawForm, *apiError) {
	f := &rawForm{values: map[string]string{}}
	for k, vs := range q {
		if _, known := maxChars[k]; !known || len(vs) == 0 {
			continue
		}
		// The last value wins: a hidden consent=0 followed by a checked consent=on is consent.
		v := vs[len(vs)-1]
		if !utf8.ValidString(v) {
			return nil, invalid(k, "must be valid UTF-8")
		}
		if k == fConsent {
			f.consent = truthy(v)
			continue
		}
		f.values[k] = v
	}
	return f, nil
}

func decodeMultipart(body []byte, boundary string) (*rawForm, *apiError) {
	if boundary == "" {
		return nil, badRequest("multipart body without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	q := url.Values{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest("malformed multipart body")
		}
		name := p.FormName()
		if _, known := maxChars[name]; !known || p.FileName() != "" {
			continue // unknown fields and files are skipped
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, badRequest("malformed multipart body")
		}
		q.Add(name, string(v))
	}
	return fromValues(q)
}

// decodeJSON reads the top-level object's known members. It gives what decoding into a
// map[string]json.RawMessage gives (the whole body must be valid JSON, keys are compared
// unescaped, the last of duplicate keys wins) without building the map of every member.
func decodeJSON(body []byte) (*rawForm, *apiError) {
	if !json.Valid(body) {
		return nil, badRequest(malformedJSON)
	}
	i := skipSpace(body, 0)
	if body[i] != '{' { // null, an array, a string, a number or a boolean
		return nil, badRequest(malformedJSON)
	}
	var raws [len(jsonFields)][]byte // the last value of each known member
	i++
	for {
		i = skipSpace(body, i)
		if body[i] == '}' {
			break
		}
		kEnd := skipString(body, i)
		key := body[i+1 : kEnd-1]
		i = skipSpace(body, kEnd) + 1 // ':'
		i = skipSpace(body, i)
		vEnd := skipValue(body, i)
		if f := jsonField(key); f >= 0 {
			raws[f] = body[i:vEnd]
		}
		i = skipSpace(body, vEnd)
		if body[i] == ',' {
			i++
		}
	}
	f := &rawForm{values: make(map[string]string, 8)}
	for n, rawv := range raws {
		if rawv == nil {
			continue
		}
		k := jsonFields[n]
		// encoding/json silently replaces invalid UTF-8 with U+FFFD: check the raw bytes.
		if !utf8.Valid(rawv) {
			return nil, invalid(k, "must be valid UTF-8")
		}
		if k == fConsent {
			c, ok := jsonConsent(rawv)
			if !ok {
				return nil, invalid(k, "must be true, \"on\", \"yes\", \"true\" or \"1\"")
			}
			f.consent = c
			continue
		}
		s, ok := jsonString(rawv, k == fPhone)
		if !ok {
			return nil, invalid(k, "must be a string")
		}
		f.values[k] = s
	}
	return f, nil
}

const malformedJSON = "malformed JSON: the body must be one JSON object"

// jsonFields are the known field names, in the order decodeJSON checks them.
// (TestJSONFieldsKnown checks they are exactly the keys of maxChars.)
var jsonFields = [...]string{fName, fPhone, fEmail, fMessage, fConsent, fPageURL, fCaptchaToken,
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"g-recaptcha-response", "h-captcha-response", "cf-turnstile-response"}

// jsonField is the index in jsonFields of a raw (still quoted-content) member name, or -1.
func jsonField(raw []byte) int {
	if bytes.IndexByte(raw, '\\') >= 0 {
		quoted := make([]byte, 0, len(raw)+2)
		quoted = append(append(append(quoted, '"'), raw...), '"')
		var name string
		if err := json.Unmarshal(quoted, &name); err != nil {
			return -1
		}
		raw = []byte(name)
	}
	for i, f := range jsonFields {
		if string(raw) == f { // compared without a copy
			return i
		}
	}
	return -1
}

// skipSpace, skipString and skipValue walk a body json.Valid accepted.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// jsonString decodes a JSON string (or null = ""). Phone numbers may also be JSON numbers.
func jsonString(raw json.RawMessage, allowNumber bool) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	if raw[0] == '"' {
		if bytes.IndexByte(raw, '\\') < 0 { // no escapes: the content as it is (valid JSON, valid UTF-8)
			return string(raw[1 : len(raw)-1]), true
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	}
	if allowNumber {
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&n); err == nil {
			return n.String(), true
		}
	}
	return "", false
}

// jsonConsent accepts true/false, null, 1/0 and the strings truthy() knows.
func jsonConsent(raw json.RawMessage) (bool, bool) {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "true", "1":
		return true, true
	case "false", "0", "null":
		return false, true
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return false, false
		}
		return truthy(s), true
	}
	return false, false
}

// truthy reports whether a form value means "yes, I consent": a checked checkbox sends
// "on" (or its value attribute); JS clients send "true", "1" or "yes".
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "1", "yes":
		return true
	}
	return false
}

// validateOrder is the order validate checks fields in; captchaFields the captcha fields
// by precedence.
var (
	validateOrder = append(append([]string{fName, fPhone, fEmail, fMessage, fPageURL, fCaptchaToken}, utmFields...), captchaAliases...)
	captchaFields = append([]string{fCaptchaToken}, captchaAliases...)
)

// validate checks limits, consent and contacts, and normalises the phone to E.164.
// Field checks run in a fixed order so the reported field is deterministic.
func validate(f *rawForm, region string) (*lead, *apiError) {
	for _, k := range validateOrder {
		v, ok := f.values[k]
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if !utf8.ValidString(v) {
			return nil, invalid(k, "must be valid UTF-8")
		}
		if n := utf8.RuneCountInString(v); n > maxChars[k] {
			return nil, invalid(k, "is longer than "+strconv.Itoa(maxChars[k])+" characters")
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, invalid(k, "must not contain NUL characters")
		}
		f.values[k] = v
	}
	if !f.consent {
		return nil, invalid(fConsent, "explicit consent to personal data processing is required")
	}
	l := &lead{
		Name:    f.values[fName],
		Email:   f.values[fEmail],
		Message: f.values[fMessage],
		PageURL: f.values[fPageURL],
	}
	for _, k := range captchaFields {
		if v := f.values[k]; v != "" {
			l.CaptchaToken = v
			break
		}
	}
	if p := f.values[fPhone]; p != "" {
		e164, ok := normalizePhone(p, region)
		if !ok {
			return nil, invalid(fPhone, "is not a valid phone number")
		}
		l.Phone = e164
	}
	if l.Email != "" && !validEmail(l.Email) {
		return nil, invalid(fEmail, "is not a valid email address")
	}
	if l.Phone == "" && l.Email == "" {
		return nil, invalid(fPhone, "a phone number or an email address is required")
	}
	if l.PageURL != "" {
		u, err := url.Parse(l.PageURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, invalid(fPageURL, "must be an http(s) URL")
		}
	}
	for _, k := range utmFields {
		if v := f.values[k]; v != "" {
			if l.UTM == nil {
				l.UTM = map[string]string{}
			}
			l.UTM[k] = v
		}
	}
	return l, nil
}

// normalizePhone parses a phone written in any common way ("+7 916 123-45-67",
// "8 (916) 123 45 67" in region RU) and returns it in E.164: libphonenumber's answer, with
// a fast path for the usual shapes (internal/phone).
func normalizePhone(s, region string) (string, bool) {
	return phone.E164(s, region)
}

// validEmail accepts a bare address (no display name) that net/mail can parse, with a dot
// in the domain part.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t\r\n<>")
}
