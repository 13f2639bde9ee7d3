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
var utmFields = [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

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
	// the field names captcha widgets add to a form by themselves (reCAPTCHA, hCaptcha,
	// Cloudflare Turnstile); captcha_token wins when both are present
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
	UTM          [len(utmFields)]string // the utm_* values by utmFields, "" when absent
	CaptchaToken string
}

// utm returns the value of utm_* field name, "" when absent.
func (l *lead) utm(name string) string {
	for i, k := range utmFields {
		if k == name {
			return l.UTM[i]
		}
	}
	return ""
}

// contactID is the E.164 phone, else the lower-cased email.
func (l *lead) contactID() string {
	if l.Phone != "" {
		return l.Phone
	}
	return strings.ToLower(l.Email)
}

// rawForm is the body decoded to its known fields, before validation ("" for a field the
// body did not have: validating it changes nothing).
type rawForm struct {
	values  [len(jsonFields)]string // by index in jsonFields
	consent bool
}

// parseForm decodes and validates a body of the given Content-Type. It never panics and
// never echoes field values in its errors. region is the default region for phone numbers.
func parseForm(contentType string, body []byte, region string) (lead, *apiError) {
	raw, aerr := decodeBody(contentType, body)
	if aerr != nil {
		return lead{}, aerr
	}
	return validate(&raw, region)
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
func decodeBody(contentType string, body []byte) (rawForm, *apiError) {
	mt, params, aerr := mediaType(contentType)
	if aerr != nil {
		return rawForm{}, aerr
	}
	switch mt {
	case "application/json":
		return decodeJSON(body)
	case "multipart/form-data":
		return decodeMultipart(body, params["boundary"])
	default:
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return rawForm{}, badRequest("malformed form body")
		}
		return fromValues(q)
	}
}

func fromValues(q url.Values) (rawForm, *apiError) {
	var f rawForm
	for k, vs := range q {
		n := fieldIndex(k)
		if n < 0 || len(vs) == 0 {
			continue
		}
		// The last value wins: a hidden consent=0 followed by a checked consent=on is consent.
		v := vs[len(vs)-1]
		if !utf8.ValidString(v) {
			return rawForm{}, invalid(k, "must be valid UTF-8")
		}
		if n == iConsent {
			f.consent = truthy(v)
			continue
		}
		f.values[n] = v
	}
	return f, nil
}

func decodeMultipart(body []byte, boundary string) (rawForm, *apiError) {
	if boundary == "" {
		return rawForm{}, badRequest("multipart body without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	q := url.Values{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rawForm{}, badRequest("malformed multipart body")
		}
		name := p.FormName()
		if fieldIndex(name) < 0 || p.FileName() != "" {
			continue // unknown fields and files are skipped
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return rawForm{}, badRequest("malformed multipart body")
		}
		q.Add(name, string(v))
	}
	return fromValues(q)
}

// decodeJSON reads the top-level object's known members. It gives what decoding into a
// map[string]json.RawMessage gives (the whole body must be valid JSON, keys are compared
// unescaped, the last of duplicate keys wins) in one walk over the body (scanJSON), without
// building the map of every member.
func decodeJSON(body []byte) (rawForm, *apiError) {
	var raws [len(jsonFields)][]byte // the last value of each known member
	if !scanJSON(body, func(key, value []byte) {
		if f := jsonField(key); f >= 0 {
			raws[f] = value
		}
	}) {
		return rawForm{}, badRequest(malformedJSON)
	}
	if i := skipSpace(body, 0); body[i] != '{' { // null, an array, a string, a number or a boolean
		return rawForm{}, badRequest(malformedJSON)
	}
	var f rawForm
	for n, rawv := range raws {
		if rawv == nil {
			continue
		}
		k := jsonFields[n]
		// encoding/json silently replaces invalid UTF-8 with U+FFFD: check the raw bytes.
		if !utf8.Valid(rawv) {
			return rawForm{}, invalid(k, "must be valid UTF-8")
		}
		if n == iConsent {
			c, ok := jsonConsent(rawv)
			if !ok {
				return rawForm{}, invalid(k, "must be true, \"on\", \"yes\", \"true\" or \"1\"")
			}
			f.consent = c
			continue
		}
		s, ok := jsonString(rawv, n == iPhone)
		if !ok {
			return rawForm{}, invalid(k, "must be a string")
		}
		f.values[n] = s
	}
	return f, nil
}

const malformedJSON = "malformed JSON: the body must be one JSON object"

// Indexes of the known fields in jsonFields (and rawForm.values).
const (
	iName = iota
	iPhone
	iEmail
	iMessage
	iConsent
	iPageURL
	iCaptchaToken
	iUTMSource
	iUTMMedium
	iUTMCampaign
	iUTMTerm
	iUTMContent
	iRecaptcha
	iHCaptcha
	iTurnstile
)

// jsonFields are the known field names, by index. (TestJSONFieldsKnown checks they are
// exactly the keys of maxChars.)
var jsonFields = [...]string{iName: fName, iPhone: fPhone, iEmail: fEmail, iMessage: fMessage, iConsent: fConsent,
	iPageURL: fPageURL, iCaptchaToken: fCaptchaToken,
	iUTMSource: "utm_source", iUTMMedium: "utm_medium", iUTMCampaign: "utm_campaign", iUTMTerm: "utm_term", iUTMContent: "utm_content",
	iRecaptcha: "g-recaptcha-response", iHCaptcha: "h-captcha-response", iTurnstile: "cf-turnstile-response"}

// fieldMax is maxChars by field index.
var fieldMax = func() (m [len(jsonFields)]int) {
	for n, k := range jsonFields {
		m[n] = maxChars[k]
	}
	return m
}()

// fieldIndex is the index in jsonFields of a field name, or -1.
func fieldIndex(name string) int {
	for i, f := range jsonFields {
		if name == f {
			return i
		}
	}
	return -1
}

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
	return fieldIndex(string(raw)) // compared without a copy
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

// validateOrder is the order validate checks fields in; captchaFields the captcha fields by
// precedence; utmIndexes the utm_* fields in utmFields' order.
var (
	validateOrder = [...]int{iName, iPhone, iEmail, iMessage, iPageURL, iCaptchaToken,
		iUTMSource, iUTMMedium, iUTMCampaign, iUTMTerm, iUTMContent, iRecaptcha, iHCaptcha, iTurnstile}
	captchaFields = [...]int{iCaptchaToken, iRecaptcha, iHCaptcha, iTurnstile}
	utmIndexes    = func() (ix [len(utmFields)]int) {
		for i, k := range utmFields {
			ix[i] = fieldIndex(k)
		}
		return ix
	}()
)

// validate checks limits, consent and contacts, and normalises the phone to E.164.
// Field checks run in a fixed order so the reported field is deterministic.
func validate(f *rawForm, region string) (lead, *apiError) {
	for _, n := range validateOrder {
		v := f.values[n]
		if v == "" {
			continue
		}
		k := jsonFields[n]
		v = strings.TrimSpace(v)
		if !utf8.ValidString(v) {
			return lead{}, invalid(k, "must be valid UTF-8")
		}
		if c := utf8.RuneCountInString(v); c > fieldMax[n] {
			return lead{}, invalid(k, "is longer than "+strconv.Itoa(fieldMax[n])+" characters")
		}
		if strings.IndexByte(v, 0) >= 0 {
			return lead{}, invalid(k, "must not contain NUL characters")
		}
		f.values[n] = v
	}
	if !f.consent {
		return lead{}, invalid(fConsent, "explicit consent to personal data processing is required")
	}
	l := lead{
		Name:    f.values[iName],
		Email:   f.values[iEmail],
		Message: f.values[iMessage],
		PageURL: f.values[iPageURL],
	}
	for _, n := range captchaFields {
		if v := f.values[n]; v != "" {
			l.CaptchaToken = v
			break
		}
	}
	if p := f.values[iPhone]; p != "" {
		e164, ok := normalizePhone(p, region)
		if !ok {
			return lead{}, invalid(fPhone, "is not a valid phone number")
		}
		l.Phone = e164
	}
	if l.Email != "" && !validEmail(l.Email) {
		return lead{}, invalid(fEmail, "is not a valid email address")
	}
	if l.Phone == "" && l.Email == "" {
		return lead{}, invalid(fPhone, "a phone number or an email address is required")
	}
	if l.PageURL != "" {
		u, err := url.Parse(l.PageURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return lead{}, invalid(fPageURL, "must be an http(s) URL")
		}
	}
	for i, n := range utmIndexes {
		l.UTM[i] = f.values[n]
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
