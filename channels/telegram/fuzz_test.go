package telegram

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzMapUpdate: no update body (webhook or getUpdates element) panics the decoder or the
// mapping; a panic in the poller would stop the gateway and re-read the same update forever.
// Seeds: the update fixtures.
func FuzzMapUpdate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, raw := range badCommandEntities {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, _, err := decodeUpdate(raw)
		if err != nil {
			return
		}
		for _, groups := range []bool{false, true} {
			in, ok, _ := mapUpdate("shop", groups, &u)
			if ok && (in.MessageID == "" || in.ContactID == "") {
				t.Fatalf("item the ingest would reject: %+v", in)
			}
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
// re-read the same update after every restart): the text is taken as plain text.
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
