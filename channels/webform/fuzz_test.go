package webform

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseForm feeds arbitrary bodies and content types to the form decoder: it must never
// panic, refuse with a 4xx, and accept only a lead with a contact (an E.164 phone or an
// email) and valid UTF-8 text.
func FuzzParseForm(f *testing.F) {
	const json, urlenc = "application/json", "application/x-www-form-urlencoded"
	f.Add(json, `{"name":"Anna","phone":"+7 916 123-45-67","message":"call me","consent":true}`)
	f.Add(json, `{"email":"A@Example.com","consent":"on","utm_source":"ads","page_url":"https://example.com/x"}`)
	f.Add(json, `{"phone":"8 (916) 123 45 67","consent":1}`)
	f.Add(json, `{"phone":12345,"consent":true}`)
	f.Add(json, `[{"phone":"+79161234567"}]`)
	f.Add(json, `{"phone":"+79161234567","consent":true,"phone":"+79160000000"}`)
	f.Add(urlenc, "name=Anna&phone=%2B79161234567&consent=yes&message=hi")
	f.Add(urlenc, "phone=%ZZ&consent=on")
	f.Add("multipart/form-data; boundary=xx", "--xx\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+79161234567\r\n--xx\r\nContent-Disposition: form-data; name=\"consent\"\r\n\r\non\r\n--xx--\r\n")
	f.Add("text/plain", "phone=+79161234567")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		l, aerr := parseForm(contentType, []byte(body), DefaultRegion)
		if aerr != nil {
			if aerr.Status < 400 || aerr.Status > 499 {
				t.Fatalf("refused with status %d, want 4xx", aerr.Status)
			}
			if l != nil {
				t.Fatalf("both a lead and an error")
			}
			return
		}
		if l == nil {
			t.Fatal("neither a lead nor an error")
		}
		if l.contactID() == "" {
			t.Fatalf("accepted a lead without a contact: %+v", l)
		}
		if l.Phone != "" && (!strings.HasPrefix(l.Phone, "+") || strings.ContainsAny(l.Phone, " -()")) {
			t.Fatalf("phone %q is not E.164", l.Phone)
		}
		for _, s := range []string{l.Name, l.Message, l.Email, l.PageURL} {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8 %q", s)
			}
		}
	})
}
