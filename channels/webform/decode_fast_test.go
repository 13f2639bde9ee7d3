package webform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeJSONMap is the decoder decodeJSON replaced (a map of every member, then each known
// one unmarshalled): the reference decodeJSON must agree with.
func decodeJSONMap(body []byte) (rawForm, *apiError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return rawForm{}, badRequest("malformed JSON: the body must be one JSON object")
	}
	var f rawForm
	for k, rawv := range obj {
		n := fieldIndex(k)
		if n < 0 {
			continue
		}
		if !utf8.Valid(rawv) {
			return rawForm{}, invalid(k, "must be valid UTF-8")
		}
		if k == fConsent {
			c, ok := jsonConsent(rawv)
			if !ok {
				return rawForm{}, invalid(k, "must be true, \"on\", \"yes\", \"true\" or \"1\"")
			}
			f.consent = c
			continue
		}
		s, ok := jsonStringUnmarshal(rawv, k == fPhone)
		if !ok {
			return rawForm{}, invalid(k, "must be a string")
		}
		f.values[n] = s
	}
	return f, nil
}

// jsonStringUnmarshal is jsonString without its shortcut for strings without escapes.
func jsonStringUnmarshal(raw json.RawMessage, allowNumber bool) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	if raw[0] == '"' {
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

// sameDecode fails when decodeJSON and the map decoder disagree. With several bad fields
// the map decoder reports a random one, so errors compare by status and message only.
func sameDecode(t *testing.T, body []byte) {
	t.Helper()
	got, gerr := decodeJSON(body)
	want, werr := decodeJSONMap(body)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("body %q: decodeJSON error %v, map decoder error %v", body, gerr, werr)
	case gerr != nil:
		if gerr.Status != werr.Status || (gerr.Field == "") != (werr.Field == "") {
			t.Fatalf("body %q: decodeJSON %+v, map decoder %+v", body, gerr, werr)
		}
	case got != want:
		t.Fatalf("body %q: decodeJSON %+v %v, map decoder %+v %v", body, got.values, got.consent, want.values, want.consent)
	}
}

func TestDecodeJSONMatchesMapDecoder(t *testing.T) {
	for _, body := range []string{
		`{"name":"Anna","phone":"+7 916 555-01-23","consent":true,"message":"hi"}`,
		` { "name" : "An\"na\u0041" , "phone" : 79165550123 , "consent" : "on" } `,
		`{"name":"a","name":"b","consent":1,"email":"a@b.co"}`,
		`{"name":5,"name":"x","consent":true}`,
		`{"n\u0061me":"escaped key","consent":"yes","x":{"a":[1,"}",{"b":"]"}]},"y":[[]],"z":null}`,
		`{"phone":null,"email":"a@b.co","consent":"true"}`,
		`{"phone":true,"consent":true}`,
		`{"phone":{"a":1},"consent":true}`,
		`{"consent":2}`,
		`{"message":"\ud800","consent":true,"email":"a@b.co"}`,
		"{\"message\":\"\xff\",\"consent\":true}",
		"{\"unknown\xff\":\"x\",\"consent\":true}",
		`{"utm_source":"","g-recaptcha-response":"tok","consent":false}`,
		`{}`, `null`, `[]`, `"x"`, `1`, `true`, ``, `{`, `{"a":1}x`, `{"a":1,}`, `{"a" 1}`,
	} {
		sameDecode(t, []byte(body))
	}
}

// FuzzDecodeJSON compares decodeJSON with the map decoder on arbitrary bodies, seeded with
// the JSON bodies of FuzzDecodeForm's corpus.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"name":"Anna","phone":"+7 916 555-01-23","consent":true,"message":"hi"}`))
	files, _ := filepath.Glob("testdata/fuzz/FuzzDecodeForm/*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "[]byte(") {
				f.Add([]byte(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")")))
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameDecode(t, body) })
}

// decodeJSON knows exactly the fields of maxChars.
func TestJSONFieldsKnown(t *testing.T) {
	got := slices.Sorted(slices.Values(jsonFields[:]))
	want := slices.Sorted(maps.Keys(maxChars))
	if !slices.Equal(got, want) {
		t.Fatalf("jsonFields %v, maxChars keys %v", got, want)
	}
}

// writeAccepted writes byte for byte what writeJSON writes.
func TestWriteAcceptedMatchesWriteJSON(t *testing.T) {
	for _, id := range []string{"1700000000000-0", "1-12", "", "<odd>&\"id\""} {
		for _, dup := range []bool{false, true} {
			a, b := httptest.NewRecorder(), httptest.NewRecorder()
			writeAccepted(a, id, dup)
			writeJSON(b, http.StatusAccepted, response{Status: "accepted", LeadID: id, Duplicate: dup})
			if a.Code != b.Code || a.Body.String() != b.Body.String() || !maps.EqualFunc(a.Header(), b.Header(), slices.Equal) {
				t.Errorf("id %q: writeAccepted %d %q %v, writeJSON %d %q %v", id, a.Code, a.Body, a.Header(), b.Code, b.Body, b.Header())
			}
		}
	}
}

// The usual Content-Type headers take the shortcut and give what mime.ParseMediaType gives.
func TestMediaTypeShortcut(t *testing.T) {
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8",
		"application/json; charset=UTF-8", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
		"application/x-www-form-urlencoded; charset=UTF-8"} {
		mt, _, aerr := mediaType(ct)
		// The long way: the same header with a parameter the shortcut does not know.
		slow, _, serr := mediaType(ct + "; x=1")
		if aerr != nil || serr != nil || mt != slow {
			t.Errorf("%q: %q %v, parsed %q %v", ct, mt, aerr, slow, serr)
		}
	}
}

// contentID is "h:" and the hex SHA-256 of contact, a NUL byte and the message.
func TestContentIDFormula(t *testing.T) {
	long := strings.Repeat("Перезвоните ", 100) // longer than contentID's stack buffer
	for _, c := range [][2]string{{"+79165550123", "call me"}, {"", ""}, {"anna@example.ru", long}, {long, "x"}} {
		sum := sha256.Sum256([]byte(c[0] + "\x00" + c[1]))
		if got, want := contentID(c[0], c[1]), "h:"+hex.EncodeToString(sum[:]); got != want {
			t.Errorf("contentID(%q, %q) = %s, want %s", c[0], c[1], got, want)
		}
	}
}
