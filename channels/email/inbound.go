package email

import (
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// dedupeTTL: a Message-ID is remembered this long (a mailbox rescanned after a UIDVALIDITY
// change finds no duplicate within it).
const dedupeTTL = 30 * 24 * time.Hour

// replyPrefixes mark a subject of a reply or a forward (English, Russian, German, a few more).
var replyPrefixes = []string{"re:", "re[", "ответ:", "отв:", "aw:", "fw:", "fwd:", "wg:", "tr:", "sv:", "vs:", "rv:"}

// isReplySubject reports whether a subject starts with a reply or forward prefix.
func isReplySubject(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	for _, p := range replyPrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// contact is who a message is from for the gateway: the Reply-To address when there is one
// (a site's mail form sends from its own address with the customer in Reply-To), else From.
func (m *Mail) contact() string {
	if m.ReplyTo != nil && m.ReplyTo.Address != "" {
		return m.ReplyTo.Address
	}
	if m.From != nil {
		return m.From.Address
	}
	return ""
}

// ThreadID is the id of the thread's first message: the first of References, else the
// first of In-Reply-To, else the message's own id.
func (m *Mail) ThreadID() string {
	if len(m.References) > 0 {
		return m.References[0]
	}
	if len(m.InReplyTo) > 0 {
		return m.InReplyTo[0]
	}
	return m.MessageID
}

// MapInbound turns a parsed message of mailbox account into an Inbound. ignore is why the
// message is not taken ("" when it is): an automatic message (auto-reply, bounce, list), a
// message without a readable sender, or one sent from the mailbox itself.
func MapInbound(account, self string, m *Mail) (in channels.Inbound, ignore string) {
	if m.Auto != "" {
		return in, "automatic: " + m.Auto
	}
	who := m.contact()
	if who == "" || !strings.Contains(who, "@") {
		return in, errNoSender.Error()
	}
	if self != "" && (strings.EqualFold(who, self) || (m.From != nil && strings.EqualFold(m.From.Address, self))) {
		return in, "sent from the mailbox itself"
	}
	text := m.Text
	if subj := strings.TrimSpace(m.Subject); subj != "" && !isReplySubject(subj) {
		if text == "" {
			text = subj
		} else {
			text = subj + "\n\n" + text
		}
	}
	meta := map[string]string{"message_id": m.MessageID, "thread": m.ThreadID()}
	if m.Subject != "" {
		meta["subject"] = clip(m.Subject, 500)
	}
	if len(m.InReplyTo) > 0 {
		meta["in_reply_to"] = m.InReplyTo[0]
	}
	if m.Truncated {
		meta["truncated"] = "1"
	}
	if m.QuoteStripped {
		meta["quote_stripped"] = "1"
	}
	name := ""
	if m.ReplyTo != nil && m.ReplyTo.Address == who {
		name = m.ReplyTo.Name
	}
	if name == "" && m.From != nil && m.From.Address == who {
		name = m.From.Name
	}
	in = channels.Inbound{
		Kind:        channels.KindMessage,
		Channel:     Name,
		Account:     account,
		MessageID:   m.MessageID,
		ContactID:   who,
		DisplayName: clip(strings.TrimSpace(name), 200),
		Text:        text,
		Attachments: m.Attachments,
		Email:       who,
		Meta:        meta,
		SentAt:      m.Date,
		DedupeTTL:   dedupeTTL,
	}
	return in, ""
}
