package instagram

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lidorub/lidorub/channels"
)

// FuzzParse: no input panics, and every item the parser returns is one the ingest accepts
// (an item Ingest rejects would fail the delivery forever and Meta would keep retrying).
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
		for _, comments := range []bool{true, false} {
			b, err := Parse(body, func(id string) bool { return id != "" && id[0] != '9' }, comments)
			if err != nil {
				if len(b.Items) != 0 {
					t.Fatal("items returned with an error")
				}
				continue
			}
			for _, in := range b.Items {
				if in.Channel != channels.Instagram || in.MessageID == "" || in.ContactID == "" || in.Account == "" {
					t.Fatalf("item the ingest would reject: %+v", in)
				}
				switch in.Kind {
				case channels.KindMessage, channels.KindEdit, channels.KindReaction, channels.KindStatus:
				default:
					t.Fatalf("unknown kind %q", in.Kind)
				}
				if in.ContactID == in.Account {
					t.Fatalf("the business's own action became an item: %+v", in)
				}
			}
		}
	})
}
