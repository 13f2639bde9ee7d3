package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMapInbound feeds arbitrary bytes to the MIME-to-inbound mapping: it must never panic,
// must return valid UTF-8 within the text limit, and must key every taken message.
// Seeds: testdata/fuzz/FuzzMapInbound and the .eml fixtures.
func FuzzMapInbound(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseMail(raw, ParseOptions{MaxTextChars: 500})
		if err != nil {
			return
		}
		if utf8.RuneCountInString(m.Text) > 501 {
			t.Fatalf("text of %d characters over the limit", utf8.RuneCountInString(m.Text))
		}
		in, ignore := MapInbound("box", "box@shop.example", m)
		if ignore != "" {
			return
		}
		for _, s := range []string{in.Text, in.ContactID, in.DisplayName, in.MessageID, in.Meta["subject"]} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
		}
		if in.MessageID == "" || len(in.MessageID) > 250 || strings.ContainsAny(in.MessageID, " \r\n") {
			t.Fatalf("bad message id %q", in.MessageID)
		}
		if !strings.Contains(in.ContactID, "@") {
			t.Fatalf("contact %q is not an address", in.ContactID)
		}
		for _, a := range in.Attachments {
			if a.Size < 0 || a.Kind == "" {
				t.Fatalf("bad attachment %+v", a)
			}
		}
	})
}
