package store

import (
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/lidorub/lidorub/channels"
)

// encodeInbound returns json.Marshal(in), byte for byte, without reflection for the items
// channels hand in (no attachments): the field order, omitempty rules, map key order,
// string escaping (HTML-safe, invalid UTF-8 as \ufffd, U+2028/U+2029) and time format of
// encoding/json. Anything else (attachments, a time json.Marshal refuses) goes to
// json.Marshal itself, and so does an item with a field this encoder does not write (a call,
// a priority boost, a note). TestEncodeInboundMatchesMarshal and FuzzEncodeInbound compare them;
// TestEncodeInboundKnowsEveryField fails when channels.Inbound gains a field no one told
// this encoder about.
func encodeInbound(in channels.Inbound) ([]byte, error) { return appendInbound(nil, in) }

// appendInbound appends encodeInbound(in) to b (json.Marshal's answer, a new slice, for the
// items encodeInbound leaves to it).
func appendInbound(b []byte, in channels.Inbound) ([]byte, error) {
	if len(in.Attachments) > 0 || in.PriorityBoost != 0 || in.Call != nil || in.Note != "" ||
		!jsonTimeOK(in.SentAt) || !jsonTimeOK(in.ReceivedAt) {
		return json.Marshal(in)
	}
	n := 256 + len(in.Kind) + len(in.Channel) + len(in.Account) + len(in.MessageID) + len(in.ContactID) +
		len(in.DisplayName) + len(in.Text) + len(in.Phone) + len(in.Email) + len(in.Source)
	for k, v := range in.Meta {
		n += len(k) + len(v) + 6
	}
	b = slices.Grow(b, n)
	b = append(b, '{')
	if in.Kind != "" {
		b = appendField(b, `"kind":`, in.Kind)
		b = append(b, ',')
	}
	b = appendField(b, `"channel":`, in.Channel)
	if in.Account != "" {
		b = appendField(b, `,"account":`, in.Account)
	}
	b = appendField(b, `,"message_id":`, in.MessageID)
	b = appendField(b, `,"contact_id":`, in.ContactID)
	if in.DisplayName != "" {
		b = appendField(b, `,"display_name":`, in.DisplayName)
	}
	if in.Text != "" {
		b = appendField(b, `,"text":`, in.Text)
	}
	if in.Phone != "" {
		b = appendField(b, `,"phone":`, in.Phone)
	}
	if in.Email != "" {
		b = appendField(b, `,"email":`, in.Email)
	}
	if in.Source != "" {
		b = appendField(b, `,"source":`, in.Source)
	}
	if len(in.Meta) > 0 {
		b = append(b, `,"meta":{`...)
		var arr [16]string
		keys := arr[:0]
		for k := range in.Meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, in.Meta[k])
		}
		b = append(b, '}')
	}
	// time.Time is a struct: omitempty never leaves it out.
	b = append(b, `,"sent_at":"`...)
	b = in.SentAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","received_at":"`...)
	b = in.ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if in.NoAutoReply {
		b = append(b, `,"no_auto_reply":true`...)
	}
	b = append(b, '}')
	return b, nil
}

// jsonTimeOK reports whether time.Time.MarshalJSON writes t as AppendFormat(RFC3339Nano)
// does: a four-digit year and a zone offset that fits RFC 3339 (whole minutes, under 24 h).
func jsonTimeOK(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, off := t.Zone()
	if off%60 != 0 {
		return false
	}
	return off > -24*3600 && off < 24*3600
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, name...)
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json writes a string with HTML escaping on.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // control characters and <, >, &
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
