package router_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// transcriptOf returns "dir:kind:text[+edited|+deleted]" per transcript line.
func (e *env) transcriptOf(conv int64) []string {
	e.t.Helper()
	tr, err := e.r.Transcript(e.ctx, conv, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range tr {
		s := m.Dir + ":" + m.Kind + ":" + m.Text
		if m.Edited {
			s += "+edited"
		}
		if m.Deleted {
			s += "+deleted"
		}
		if len(m.Attachments) > 0 {
			s += "+" + m.Attachments[0].Kind
		}
		out = append(out, s)
	}
	return out
}

// TestEditAndDeleteRewriteTheOriginal: an edit replaces the original message's text (and
// media) in the transcript, found by its id; a deletion marks the original deleted and drops
// its content; neither opens a lead or sends anything. An edit of a message the transcript no
// longer holds is appended as before.
func TestEditAndDeleteRewriteTheOriginal(t *testing.T) {
	e := newEnv(t, opts{})
	e.online("anna")
	msg := func(id, text string, atts ...channels.Attachment) channels.Inbound {
		return channels.Inbound{Channel: channels.WhatsAppCloud, Account: "p1", MessageID: id, ContactID: "79161234567", Text: text, Attachments: atts}
	}
	e.ingestMsg(msg("w1", "Есть диван?"))
	e.ingestMsg(msg("w2", "Вот такой", channels.Attachment{Kind: "image", Ref: "m1"}))
	sent := len(e.sender.kinds())

	edit := msg("w3", "Есть серый диван?")
	edit.Kind, edit.Meta = channels.KindEdit, map[string]string{"edited_id": "w1"}
	e.ingestMsg(edit)
	del := msg("w4", "")
	del.Kind, del.Meta = channels.KindDelete, map[string]string{"deleted_id": "w2"}
	e.ingestMsg(del)
	gone := msg("w5", "P.S. и доставка")
	gone.Kind, gone.Meta = channels.KindEdit, map[string]string{"edited_id": "w0"} // not in the transcript
	e.ingestMsg(gone)

	want := []string{"in:message:Есть серый диван?+edited", "out:auto_ack:", "in:message:+deleted", "in:edit:P.S. и доставка"}
	got := e.transcriptOf(1)
	got[1] = "out:auto_ack:" // the template text is not the point here
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("transcript (-want +got):\n%s", diff)
	}
	if n := len(e.sender.kinds()); n != sent {
		t.Fatalf("%d messages sent after the edit/delete, want none", n-sent)
	}
	if _, err := e.r.Conversation(e.ctx, 2); err == nil {
		t.Fatal("an edit or a deletion opened a second conversation")
	}
}

// TestEditWithoutConversationCounted: an edit, reaction or deletion that refers to no open
// conversation is dropped (never a lead) and counted.
func TestEditWithoutConversationCounted(t *testing.T) {
	e := newEnv(t, opts{})
	for i, kind := range []string{channels.KindEdit, channels.KindDelete, channels.KindEdit} {
		e.ingestMsg(channels.Inbound{Kind: kind, Channel: channels.Telegram, Account: "shop", MessageID: "7001:11:e" + itoa(i),
			ContactID: "7001", Text: "edited", Meta: map[string]string{"edited_id": "7001:11", "deleted_id": "7001:11"}})
	}
	if _, err := e.r.Conversation(e.ctx, 1); err == nil {
		t.Fatal("a conversation was opened")
	}
	if v := testutil.ToFloat64(e.metrics.InboundIgnored.WithLabelValues(channels.Telegram, channels.KindEdit)); v != 2 {
		t.Fatalf("ignored edits counted %v, want 2", v)
	}
	if v := testutil.ToFloat64(e.metrics.InboundIgnored.WithLabelValues(channels.Telegram, channels.KindDelete)); v != 1 {
		t.Fatalf("ignored deletions counted %v, want 1", v)
	}
}

var _ = router.Message{}
