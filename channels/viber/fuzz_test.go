package viber

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lidorub/lidorub/channels"
)

// FuzzParse: no callback body panics the parser, and every item it returns is one the
// ingest accepts. Seeds: the fixtures plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, items, err := Parse(body, "bot", "RU")
		if err != nil {
			if cb != nil || len(items) != 0 {
				t.Fatal("a result with an error")
			}
			return
		}
		if cb == nil || cb.Event == "" {
			t.Fatal("no callback without an error")
		}
		for _, in := range items {
			if in.Channel != Name || in.Account != "bot" || in.MessageID == "" {
				t.Fatalf("item the ingest would reject: %+v", in)
			}
			switch in.Kind {
			case channels.KindMessage:
				if in.ContactID == "" || (in.Text == "" && len(in.Attachments) == 0) {
					t.Fatalf("empty message: %+v", in)
				}
			case channels.KindStatus:
				if in.Meta["ref"] == "" || in.Meta["status"] == "" {
					t.Fatalf("status without ref: %+v", in)
				}
			default:
				t.Fatalf("kind %q", in.Kind)
			}
		}
	})
}
