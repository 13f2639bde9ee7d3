package vk

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
		cb, items, err := Parse(body, "shop")
		if err != nil {
			if cb != nil || len(items) != 0 {
				t.Fatal("a result with an error")
			}
			return
		}
		if cb == nil || cb.Type == "" {
			t.Fatal("no callback without an error")
		}
		_ = cb.Permission()
		for _, in := range items {
			if in.Channel != Name || in.Account != "shop" || in.MessageID == "" || in.ContactID == "" {
				t.Fatalf("item the ingest would reject: %+v", in)
			}
			switch in.Kind {
			case channels.KindMessage:
				if in.Text == "" && len(in.Attachments) == 0 {
					t.Fatalf("empty message: %+v", in)
				}
			case channels.KindEdit:
				if in.Meta["edited_id"] == "" {
					t.Fatalf("edit without the edited id: %+v", in)
				}
			default:
				t.Fatalf("kind %q", in.Kind)
			}
		}
	})
}
