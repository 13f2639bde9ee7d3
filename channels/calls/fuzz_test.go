package calls

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lidorub/lidorub/channels"
)

// checkFuzzItem fails when an item is one the ingest or the router would choke on.
func checkFuzzItem(t *testing.T, in channels.Inbound, provider string) {
	if in.Kind != channels.KindCall || in.Channel != Name || in.Account != provider || in.MessageID == "" ||
		in.ContactID == "" || in.ContactID[0] != '+' || in.Call == nil {
		t.Fatalf("item the ingest or the router would reject: %+v", in)
	}
	if d := in.Call.Direction; d != channels.CallIn && d != channels.CallOut {
		t.Fatalf("direction %q", d)
	}
	if in.Call.Connected && in.Call.ConnectedAt.IsZero() {
		t.Fatalf("connected without a time: %+v", in.Call)
	}
}

func seeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func fuzzChannel(f *testing.F) *Channel {
	cfg := testConfig(f)
	return &Channel{cfg: cfg, boost: *cfg.MissedPriorityBoost}
}

// FuzzParseGeneric: no body panics the parser, and every item it leads to is well formed.
// Seeds: testdata/generic_*.json and testdata/fuzz/FuzzParseGeneric.
func FuzzParseGeneric(f *testing.F) {
	seeds(f, "generic_*.json")
	c := fuzzChannel(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseGeneric(body)
		if err != nil {
			return
		}
		in, _, ign := c.item(ev.call(), managers)
		if ign == "" {
			checkFuzzItem(t, in, Generic)
		}
	})
}
