package whatsappcloud

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lidorub/lidorub/channels"
)

// FuzzParse: no input panics, and every item the parser returns is one the ingest accepts.
// Seeds: the fixtures plus testdata/fuzz/FuzzParse.
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
		b, err := Parse(body, func(id string) bool { return id != "" && id[0] != '9' }, ParseOptions{AllowGroups: len(body)%2 == 0})
		if err != nil {
			if len(b.Items) != 0 {
				t.Fatal("items returned with an error")
			}
			return
		}
		for _, in := range b.Items {
			if in.Channel != channels.WhatsAppCloud || in.MessageID == "" || in.Account == "" {
				t.Fatalf("item the ingest would reject: %+v", in)
			}
			switch in.Kind {
			case channels.KindStatus:
				if in.Meta["ref"] == "" || in.Meta["status"] == "" {
					t.Fatalf("status without ref/status: %+v", in)
				}
			case channels.KindMessage, channels.KindReaction, channels.KindEdit, channels.KindDelete:
				if in.ContactID == "" {
					t.Fatalf("message without contact: %+v", in)
				}
			default:
				t.Fatalf("unknown kind %q", in.Kind)
			}
		}
	})
}
