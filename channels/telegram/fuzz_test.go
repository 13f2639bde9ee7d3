package telegram

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lidorub/lidorub/channels"
)

// FuzzUpdate feeds arbitrary bytes to the update decoder and mapper (what the poller and the
// webhook run on every update): no input may panic, and an update that maps to an Inbound must
// carry the identity the store requires (else ingest would refuse it and the poller would stall).
// Seeds: every update fixture in testdata/ plus testdata/fuzz/FuzzUpdate.
func FuzzUpdate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, allowGroups bool) {
		u, _, err := decodeUpdate(raw)
		if err != nil {
			return
		}
		in, ok, reason := mapUpdate("shop", allowGroups, &u)
		if !ok {
			if reason == "" {
				t.Fatal("an update was skipped without a reason")
			}
			return
		}
		if in.Channel != channels.Telegram || in.MessageID == "" || in.ContactID == "" {
			t.Fatalf("mapped update lacks its identity: %+v", in)
		}
	})
}
