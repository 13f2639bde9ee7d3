package webform

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeForm feeds arbitrary Content-Types and bodies to the form decoder and
// validator. Seeds: testdata/fuzz/FuzzDecodeForm (run: go test -run '^$' -fuzz FuzzDecodeForm -fuzztime 20s ./channels/webform).
// Invariants: no panic; an error is a 4xx with a field we know; a success has consent, a
// valid E.164 phone or an email, and every field within its limits and valid UTF-8.
func FuzzDecodeForm(f *testing.F) {
	f.Add("application/json", []byte(`{"name":"Anna","phone":"+7 916 555-01-23","consent":true,"message":"hi"}`))
	f.Add("application/x-www-form-urlencoded", []byte("phone=8+916+555-01-23&consent=on&utm_campaign=x"))
	f.Add("multipart/form-data; boundary=XyZ", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.co\r\n--XyZ\r\nContent-Disposition: form-data; name=\"consent\"\r\n\r\nyes\r\n--XyZ--\r\n"))
	known := map[string]bool{"": true, "consent": true, "captcha": true}
	for k := range maxChars {
		known[k] = true
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		// The given type, then the body read as each supported type, so bodies are explored
		// even when the fuzzed type is rejected with 415.
		for _, ct := range []string{contentType, "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=XyZ"} {
			checkParse(t, ct, body, known)
		}
	})
}

func checkParse(t *testing.T, contentType string, body []byte, known map[string]bool) {
	{
		l, aerr := parseForm(contentType, body, "RU")
		if aerr != nil {
			if l != (lead{}) {
				t.Fatal("both a lead and an error")
			}
			if aerr.Status < 400 || aerr.Status >= 500 || aerr.Msg == "" || !known[aerr.Field] {
				t.Fatalf("bad error %+v", aerr)
			}
			if aerr.Status != http.StatusUnprocessableEntity && aerr.Field != "" {
				t.Fatalf("field set on a %d", aerr.Status)
			}
			return
		}
		if l.Phone == "" && l.Email == "" {
			t.Fatal("lead without phone or email")
		}
		if l.Phone != "" {
			if !strings.HasPrefix(l.Phone, "+") || len(l.Phone) > 16 {
				t.Fatalf("phone %q is not E.164", l.Phone)
			}
			if again, ok := normalizePhone(l.Phone, "US"); !ok || again != l.Phone {
				t.Fatalf("E.164 %q does not round-trip: %q %v", l.Phone, again, ok)
			}
		}
		check := func(field, v string) {
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxChars[field] || strings.IndexByte(v, 0) >= 0 {
				t.Fatalf("%s out of limits (%d chars)", field, utf8.RuneCountInString(v))
			}
		}
		check(fName, l.Name)
		check(fEmail, l.Email)
		check(fMessage, l.Message)
		check(fPageURL, l.PageURL)
		check(fCaptchaToken, l.CaptchaToken)
		for i, v := range l.UTM {
			check(utmFields[i], v)
		}
		if l.Email != "" && !validEmail(l.Email) {
			t.Fatal("invalid email accepted")
		}
	}
}
