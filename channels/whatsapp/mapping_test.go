package whatsapp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/lidorub/lidorub/channels"
)

// loadMessage builds an *events.Message from a fixture: the MessageInfo whatsmeow parses from
// the stanza's attributes, and the decrypted waE2E.Message in protobuf's JSON form. The raw
// message is unwrapped by whatsmeow's own UnwrapRaw (ephemeral, document-with-caption, edits).
func loadMessage(t *testing.T, name string) *events.Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "messages", name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Info    types.MessageInfo `json:"info"`
		Message json.RawMessage   `json:"message"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	raw := &waE2E.Message{}
	if err := protojson.Unmarshal(f.Message, raw); err != nil {
		t.Fatalf("%s: message: %v", name, err)
	}
	evt := &events.Message{Info: f.Info, RawMessage: raw}
	return evt.UnwrapRaw()
}

func TestMapMessage(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	anna := func(id, sent string) channels.Inbound {
		return channels.Inbound{Kind: channels.KindMessage, Channel: channels.WhatsApp, Account: "sales",
			MessageID: id, ContactID: "4915112345678", Phone: "+4915112345678", DisplayName: "Anna",
			SentAt: at(sent), ReceivedAt: now}
	}
	with := func(in channels.Inbound, f func(*channels.Inbound)) channels.Inbound { f(&in); return in }
	lids := map[types.JID]types.JID{
		types.NewJID("93528374651234", types.HiddenUserServer): types.NewJID("4915112345678", types.DefaultUserServer),
	}

	tests := []struct {
		file        string
		allowGroups bool
		allowFromMe bool
		want        channels.Inbound
		ignored     string
	}{
		{file: "conversation.json", want: with(anna("3A1F00C0FFEE000000000001", "2026-11-28T08:59:00Z"), func(in *channels.Inbound) {
			in.Text = "Hello, how much is the apartment on Main Street?"
		})},
		{file: "extended_text.json", want: with(anna("3A1F00C0FFEE000000000002", "2026-11-28T08:59:10Z"), func(in *channels.Inbound) {
			in.Text = "Saw your ad: https://example.com/flat/42"
		})},
		{file: "image_caption.json", want: with(anna("3A1F00C0FFEE000000000003", "2026-11-28T09:00:00Z"), func(in *channels.Inbound) {
			in.Text = "Is this one still available?"
			in.Attachments = []channels.Attachment{{Kind: "image", Ref: "3A1F00C0FFEE000000000003", MIME: "image/jpeg", Size: 52133}}
		})},
		{file: "document.json", want: with(anna("3A1F00C0FFEE000000000004", "2026-11-28T09:01:00Z"), func(in *channels.Inbound) {
			in.Text = "My income proof"
			in.Attachments = []channels.Attachment{{Kind: "document", Ref: "3A1F00C0FFEE000000000004", MIME: "application/pdf", Size: 80211, Name: "payslip-october.pdf"}}
		})},
		{file: "location.json", want: with(anna("3A1F00C0FFEE000000000005", "2026-11-28T09:02:00Z"), func(in *channels.Inbound) {
			in.Attachments = []channels.Attachment{{Kind: "location", Ref: "geo:52.520008,13.404954", Name: "Alexanderplatz, 10178 Berlin"}}
		})},
		{file: "contact.json", want: with(anna("3A1F00C0FFEE000000000006", "2026-11-28T09:03:00Z"), func(in *channels.Inbound) {
			in.Attachments = []channels.Attachment{{Kind: "contact", Ref: "tel:+4915198765432", MIME: "text/vcard", Name: "Ben (my husband)"}}
		})},
		{file: "contacts_array.json", want: with(anna("3A1F00C0FFEE000000000011", "2026-11-28T09:14:00Z"), func(in *channels.Inbound) {
			in.Attachments = []channels.Attachment{
				{Kind: "contact", Ref: "tel:+49305550199", MIME: "text/vcard", Name: "Landlord"},
				{Kind: "contact", MIME: "text/vcard", Name: "No number"},
			}
		})},
		{file: "voice_ephemeral.json", want: with(anna("3A1F00C0FFEE000000000010", "2026-11-28T09:13:00Z"), func(in *channels.Inbound) {
			in.Attachments = []channels.Attachment{{Kind: "voice", Ref: "3A1F00C0FFEE000000000010", MIME: "audio/ogg; codecs=opus", Size: 9012}}
		})},
		{file: "group.json", ignored: ignoreGroup},
		{file: "group.json", allowGroups: true, want: with(anna("3A1F00C0FFEE000000000007", "2026-11-28T09:04:00Z"), func(in *channels.Inbound) {
			in.Text = "hi all"
			in.Meta = map[string]string{"chat": "120363025246125486@g.us"}
		})},
		{file: "from_me.json", ignored: ignoreFromMe},
		{file: "from_me.json", allowFromMe: true, want: channels.Inbound{Kind: channels.KindMessage, Channel: channels.WhatsApp,
			Account: "sales", MessageID: "3EB0AAAAAAAAAAAAAAAAAA", ContactID: "4915112345678", Phone: "+4915112345678",
			Text: "written on the phone", Meta: map[string]string{"from_me": "true"}, SentAt: at("2026-11-28T09:05:00Z"), ReceivedAt: now}},
		{file: "status_broadcast.json", ignored: ignoreStatus},
		{file: "status_broadcast.json", allowGroups: true, ignored: ignoreStatus},
		{file: "lid_sender_alt.json", want: with(anna("3A1F00C0FFEE00000000000A", "2026-11-28T09:07:00Z"), func(in *channels.Inbound) {
			in.Text = "hello from a lid chat"
			in.Meta = map[string]string{"lid": "93528374651234"}
		})},
		{file: "lid_sender_store.json", want: with(anna("3A1F00C0FFEE00000000000B", "2026-11-28T09:08:00Z"), func(in *channels.Inbound) {
			in.Text = "lid without alt, known to the store"
			in.Meta = map[string]string{"lid": "93528374651234"}
		})},
		{file: "lid_unknown.json", want: channels.Inbound{Kind: channels.KindMessage, Channel: channels.WhatsApp, Account: "sales",
			MessageID: "3A1F00C0FFEE00000000000C", ContactID: "11112222333344@lid", DisplayName: "Carl",
			Text: "nobody knows my number", Meta: map[string]string{"lid": "11112222333344"},
			SentAt: at("2026-11-28T09:09:00Z"), ReceivedAt: now}},
		{file: "edit.json", want: with(anna("3A1F00C0FFEE00000000000D", "2026-11-28T09:10:00Z"), func(in *channels.Inbound) {
			in.Kind = channels.KindEdit
			in.Text = "Hello, how much is the flat on Main Street?"
			in.Meta = map[string]string{"edited_id": "3A1F00C0FFEE000000000001"}
		})},
		{file: "reaction.json", want: with(anna("3A1F00C0FFEE00000000000E", "2026-11-28T09:11:00Z"), func(in *channels.Inbound) {
			in.Kind = channels.KindReaction
			in.Text = "👍"
			in.Meta = map[string]string{"reacted_id": "3EB0BBBBBBBBBBBBBBBBBB"}
		})},
		{file: "revoke.json", ignored: ignoreUnsupported},
	}
	for _, tt := range tests {
		name := tt.file
		if tt.allowGroups {
			name += "/allow_groups"
		}
		if tt.allowFromMe {
			name += "/allow_from_me"
		}
		t.Run(name, func(t *testing.T) {
			m := mapper{account: "sales", allowGroups: tt.allowGroups, allowFromMe: tt.allowFromMe,
				pnForLID: func(_ context.Context, lid types.JID) (types.JID, error) { return lids[lid], nil }}
			got, reason := m.message(context.Background(), loadMessage(t, tt.file), now)
			if reason != tt.ignored {
				t.Fatalf("ignored = %q, want %q (got %+v)", reason, tt.ignored, got)
			}
			if tt.ignored != "" {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("inbound mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapReceipt(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	chat := types.NewJID("4915112345678", types.DefaultUserServer)
	m := mapper{account: "sales"}
	tests := []struct {
		name string
		evt  events.Receipt
		want []string // message ids
	}{
		{"delivered", events.Receipt{MessageSource: types.MessageSource{Chat: chat, Sender: chat}, Type: types.ReceiptTypeDelivered,
			MessageIDs: []string{"3EB0A", "3EB0B"}}, []string{"receipt:3EB0A:delivered", "receipt:3EB0B:delivered"}},
		{"read", events.Receipt{MessageSource: types.MessageSource{Chat: chat, Sender: chat}, Type: types.ReceiptTypeRead,
			MessageIDs: []string{"3EB0A"}}, []string{"receipt:3EB0A:read"}},
		{"own device", events.Receipt{MessageSource: types.MessageSource{Chat: chat, IsFromMe: true}, Type: types.ReceiptTypeRead,
			MessageIDs: []string{"3EB0A"}}, nil},
		{"sender type", events.Receipt{MessageSource: types.MessageSource{Chat: chat, Sender: chat}, Type: types.ReceiptTypeSender,
			MessageIDs: []string{"3EB0A"}}, nil},
		{"group", events.Receipt{MessageSource: types.MessageSource{Chat: types.NewJID("1203", types.GroupServer), IsGroup: true},
			Type: types.ReceiptTypeRead, MessageIDs: []string{"3EB0A"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.receipt(&tt.evt, now)
			var ids []string
			for _, in := range got {
				ids = append(ids, in.MessageID)
				if in.Kind != channels.KindStatus || in.ContactID != "4915112345678" || in.Meta["ref"] == "" || in.Meta["status"] == "" {
					t.Errorf("bad status item %+v", in)
				}
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}
