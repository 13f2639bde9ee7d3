package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// tricky strings: every escape encoding/json writes (HTML characters, control characters
// with and without a short form, quotes, backslashes), invalid UTF-8, U+2028/U+2029,
// multi-byte text.
var trickyStrings = []string{
	"", "plain", "Иван Петров", "<script>&amp;</script>", "a\"b\\c", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"bad \xff utf8 \xc3", "line\u2028sep\u2029par", "emoji 😀 ok", "\xed\xa0\x80 surrogate", "tail\\",
	"ﬀ\u00a0\u200b", "+79161234567", "h:0123abcd", `{"json":"inside"}`,
}

func checkEncodeInbound(t *testing.T, in channels.Inbound) {
	t.Helper()
	want, werr := json.Marshal(in)
	got, gerr := encodeInbound(in)
	if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("encodeInbound(%#v)\n got %s (%v)\nwant %s (%v)", in, got, gerr, want, werr)
	}
}

// TestEncodeInboundMatchesMarshal: the hand-written encoding is json.Marshal's, byte for
// byte, for the form's items, every other channel's shapes and tricky values.
func TestEncodeInboundMatchesMarshal(t *testing.T) {
	now := time.Date(2026, 11, 29, 15, 4, 5, 123456789, time.UTC)
	msk := time.FixedZone("MSK", 3*3600)
	odd := time.FixedZone("LMT", 2*3600+30*60+17) // an offset with seconds
	cases := []channels.Inbound{
		{},
		{Kind: channels.KindMessage, Channel: channels.Form, Account: "default", MessageID: "h:abc", ContactID: "+79161234567",
			DisplayName: "Ivan", Text: "Call me back about the price", Phone: "+79161234567", Email: "ivan@example.com",
			Source: "winter", Meta: map[string]string{"consent_at": now.Format(time.RFC3339Nano), "policy_version": "1",
				"utm_source": "bench", "utm_campaign": "winter", "page_url": "https://shop.example/sofa?a=1&b=<2>"},
			ReceivedAt: now},
		{Channel: "telegram", MessageID: "1:2", ContactID: "1", NoAutoReply: true, SentAt: now.In(msk), ReceivedAt: now.Add(time.Second)},
		{Channel: "x", MessageID: "m", ContactID: "c", Meta: map[string]string{}, ReceivedAt: now.In(odd)},
		{Channel: "x", MessageID: "m", ContactID: "c", SentAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // json.Marshal fails
		{Channel: "x", MessageID: "m", ContactID: "c", SentAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Channel: "x", MessageID: "m", ContactID: "c", ReceivedAt: now.In(time.FixedZone("far", 25*3600))},
		{Channel: "instagram", MessageID: "mid", ContactID: "igsid", Attachments: []channels.Attachment{{}}, ReceivedAt: now},
		{Kind: channels.KindStatus, Channel: "whatsapp", MessageID: "wamid", Meta: map[string]string{"status": "read"}, ReceivedAt: now},
	}
	for _, s := range trickyStrings {
		cases = append(cases, channels.Inbound{Kind: s, Channel: s, Account: s, MessageID: s, ContactID: s, DisplayName: s,
			Text: s, Phone: s, Email: s, Source: s, Meta: map[string]string{s: s, "k" + s: "v" + s}, ReceivedAt: now})
	}
	for _, in := range cases {
		checkEncodeInbound(t, in)
	}
	// Random items: random fields set, random Meta of up to 20 keys (more than the sort's
	// stack array), random strings from the tricky ones and random bytes.
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		if rng.IntN(3) == 0 {
			b := make([]byte, rng.IntN(12))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			return string(b)
		}
		return trickyStrings[rng.IntN(len(trickyStrings))]
	}
	for i := 0; i < 3000; i++ {
		in := channels.Inbound{Kind: str(), Channel: str(), Account: str(), MessageID: str(), ContactID: str(), DisplayName: str(),
			Text: str(), Phone: str(), Email: str(), Source: str(), NoAutoReply: rng.IntN(2) == 0,
			SentAt:     time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(48)-24)*1800)),
			ReceivedAt: time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9)).UTC()}
		if n := rng.IntN(21); n > 0 {
			in.Meta = map[string]string{}
			for j := 0; j < n; j++ {
				in.Meta[str()+string(rune('a'+j))] = str()
			}
		}
		checkEncodeInbound(t, in)
	}
}

func FuzzEncodeInbound(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, s, s, int64(1764428645), int64(0), true)
	}
	f.Add("a", "b", "c", int64(-62135596800), int64(3600), false)
	f.Add("", "", "", int64(253402300800), int64(-3600*25), false)
	f.Fuzz(func(t *testing.T, a, b, c string, sec, off int64, flag bool) {
		ts := time.Unix(sec, 0).In(time.FixedZone("", int(off%(48*3600))))
		checkEncodeInbound(t, channels.Inbound{Kind: a, Channel: b, Account: c, MessageID: a + b, ContactID: c, DisplayName: b,
			Text: a, Phone: c, Email: b, Source: a, Meta: map[string]string{a: b, c: a, "x": c}, SentAt: ts, ReceivedAt: ts.UTC(),
			NoAutoReply: flag})
	})
}

// Every JSON field of channels.Inbound is either written by encodeInbound or sends the item
// to json.Marshal: a field added to the contract must be added here (and to encodeInbound or
// its fallback condition), or items would silently lose it on the way to the router.
func TestEncodeInboundKnowsEveryField(t *testing.T) {
	written := map[string]bool{"kind": true, "channel": true, "account": true, "message_id": true,
		"contact_id": true, "display_name": true, "text": true, "phone": true, "email": true,
		"source": true, "meta": true, "sent_at": true, "received_at": true, "no_auto_reply": true}
	fallback := map[string]channels.Inbound{
		"attachments":    {Attachments: []channels.Attachment{{Kind: "image", Ref: "f1"}}},
		"priority_boost": {PriorityBoost: 3},
		"call":           {Call: &channels.Call{}},
		"note":           {Note: `{"key":"line.reaction_removed"}`},
	}
	typ := reflect.TypeOf(channels.Inbound{})
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name == "-" || written[name] {
			continue
		}
		in, ok := fallback[name]
		if !ok {
			t.Errorf("channels.Inbound.%s (json %q) is unknown to encodeInbound", typ.Field(i).Name, name)
			continue
		}
		in.Channel, in.MessageID, in.ContactID = "calls", "m1", "c1"
		got, err := encodeInbound(in)
		want, _ := json.Marshal(in)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: encodeInbound = %s, %v; want %s", name, got, err, want)
		}
	}
}
