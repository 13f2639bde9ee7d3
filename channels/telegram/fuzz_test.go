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

// badCommandEntities are updates whose first entity, a bot_command at offset 0, does not fit
// the text: tgbotapi's Command/CommandArguments slice out of range on them.
var badCommandEntities = []string{
	`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"/s","entities":[{"type":"bot_command","offset":0,"length":9}]}}`,
	`{"update_id":2,"message":{"message_id":2,"date":1,"chat":{"id":1,"type":"private"},"text":"/start","entities":[{"type":"bot_command","offset":0,"length":0}]}}`,
	`{"update_id":3,"edited_message":{"message_id":3,"date":1,"edit_date":2,"chat":{"id":1,"type":"private"},"text":"/x","entities":[{"type":"bot_command","offset":0,"length":5}]}}`,
}

// A malformed command entity must not panic the poller (which would stop the gateway and
// re-read the same update after every restart): the message is still ingested.
func TestMalformedCommandEntityDoesNotPanic(t *testing.T) {
	for _, raw := range badCommandEntities {
		u, _, err := decodeUpdate([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		in, ok, reason := mapUpdate("shop", false, &u)
		if !ok || in.Text == "" {
			t.Fatalf("%s: not ingested as text (%q): %+v", raw, reason, in)
		}
	}
}
