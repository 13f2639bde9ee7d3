package calls

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// FuzzParseZadarma: no notification body panics the parser, and every item a final one
// leads to is well formed. Seeds: testdata/zadarma_*.form and testdata/fuzz/FuzzParseZadarma.
func FuzzParseZadarma(f *testing.F) {
	seeds(f, "zadarma_*.form")
	c := fuzzChannel(f)
	now := time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseZadarma(body)
		if err != nil {
			return
		}
		_ = SignZadarma(zadarmaSecret, ev.Form)
		k, err := ev.call(time.UTC, now, "101", time.Time{})
		if err != nil {
			return
		}
		if in, _, ign := c.item(k, managers); ign == "" {
			checkFuzzItem(t, in, Zadarma)
		}
	})
}

// FuzzParseMango: no events/summary or events/call JSON panics the decoding, and every item
// a summary leads to is well formed. Seeds: testdata/mango_*.json and testdata/fuzz/FuzzParseMango.
func FuzzParseMango(f *testing.F) {
	seeds(f, "mango_*.json")
	c := fuzzChannel(f)
	f.Fuzz(func(t *testing.T, js []byte) {
		body := url.Values{"vpbx_api_key": {mangoKey}, "sign": {SignMango(mangoKey, mangoSalt, string(js))}, "json": {string(js)}}.Encode()
		req, err := ParseMango([]byte(body))
		if err != nil {
			return
		}
		if !req.Verify(mangoKey, mangoSalt) {
			t.Fatal("a signed request did not verify")
		}
		var ev MangoCall
		_ = json.Unmarshal(js, &ev)
		var s MangoSummary
		if json.Unmarshal(js, &s) != nil {
			return
		}
		k, err := s.call(ev.To.Extension, unix(ev.Timestamp))
		if err != nil {
			return
		}
		if in, _, ign := c.item(k, managers); ign == "" {
			checkFuzzItem(t, in, Mango)
		}
	})
}
