package staffbot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// Every text the staff bot shows comes from the catalogue, in the reader's language: a
// manager's own (managers[].locale), else locale.default; the supervisors' chat reads the
// default; a stranger their Telegram app's language.

// langOf is the language of a manager.
func (b *Bot) langOf(mgr string) string {
	if l, ok := b.mgrLang[mgr]; ok {
		return l
	}
	return b.cat.Default()
}

// chatLang is the language of a chat: its manager's, else the default (the supervisors').
func (b *Bot) chatLang(chat int64) string {
	if l, ok := b.tgLang[chat]; ok {
		return l
	}
	return b.cat.Default()
}

func (b *Bot) t(lang, key string, args ...any) string { return b.cat.T(lang, key, args...) }

// channelName is the channel's name for people ("Telegram", «веб-форма»).
func (b *Bot) channelName(lang, ch string) string {
	if b.cat.Has("channel." + ch) {
		return b.t(lang, "channel."+ch)
	}
	return ch
}

func (b *Bot) customerName(lang string, c *router.Conversation) string {
	switch {
	case c == nil:
		return b.t(lang, "staff.customer")
	case c.Name != "":
		return c.Name
	}
	return b.t(lang, "staff.customer_id", "id", c.ContactID)
}

// header is a lead's short reference: "#12 · Telegram · Olga Petrova".
func (b *Bot) header(lang string, c *router.Conversation, id int64) string {
	if c == nil {
		return "#" + i64(id)
	}
	return b.t(lang, "staff.lead", "id", c.ID, "channel", b.channelName(lang, c.Channel), "customer", b.customerName(lang, c))
}

// waited is how long the customer has been waiting, in words ("less than a minute" below
// one: seconds are noise to a manager); "" if unknown.
func (b *Bot) waited(lang string, since time.Time) string {
	if since.IsZero() {
		return ""
	}
	d := b.d.Clock.Now().Sub(since)
	if d < time.Minute {
		return b.t(lang, "unit.less_than_minute")
	}
	return b.cat.Duration(lang, d)
}

func (b *Bot) attachmentNote(lang string, atts []channels.Attachment) string {
	var parts []string
	for _, a := range atts {
		kind := a.Kind
		if b.cat.Has("attachment." + kind) {
			kind = b.t(lang, "attachment."+kind)
		}
		s := "[" + kind
		if a.Name != "" {
			s += ": " + a.Name
		}
		parts = append(parts, s+"]")
	}
	return strings.Join(parts, " ")
}

// lineText is one transcript line as a manager reads it.
func (b *Bot) lineText(lang string, m router.Message) string {
	if m.Deleted {
		return b.t(lang, "staff.line.deleted")
	}
	t := strings.TrimSpace(m.Text)
	if msg, ok := locale.Decode(m.Note); ok {
		t = b.cat.Render(lang, msg)
	}
	if n := b.attachmentNote(lang, m.Attachments); n != "" {
		t = strings.TrimSpace(t + " " + n)
	}
	if m.Edited {
		t = strings.TrimSpace(t + " " + b.t(lang, "staff.line.edited"))
	}
	return t
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// quoteLimit caps one quoted customer message; quoteTotal all of them (a Telegram message
// holds 4096 characters, the rest of the card needs room too).
const (
	quoteLimit = 500
	quoteTotal = 1500
)

// customerWords are the customer's first messages, quoted ("» …"), for the offer and the
// card of a taken lead.
func (b *Bot) customerWords(ctx context.Context, lang string, convID int64) string {
	msgs, err := b.d.Desk.Transcript(ctx, convID, 0)
	if err != nil {
		b.d.Log.Warn("staffbot: transcript not read", "conversation", convID, "err", err)
		return ""
	}
	var sb strings.Builder
	n, total := 0, 0
	for _, m := range msgs {
		if m.Dir != "in" || n == b.cfg.OfferLines || total >= quoteTotal {
			continue
		}
		if t := b.lineText(lang, m); t != "" {
			t = truncate(t, min(quoteLimit, quoteTotal-total+1))
			total += len([]rune(t))
			sb.WriteString("\n» " + t)
			n++
		}
	}
	return sb.String()
}

// sourceText is where the lead came from: the channel's source and the UTM tags.
func sourceText(c *router.Conversation) string {
	var parts []string
	if c.Source != "" {
		parts = append(parts, c.Source)
	}
	var utm []string
	for _, k := range []string{"utm_source", "utm_medium", "utm_campaign"} {
		if v := c.Meta[k]; v != "" {
			utm = append(utm, v)
		}
	}
	if len(utm) > 0 {
		parts = append(parts, "UTM "+strings.Join(utm, " / "))
	}
	return strings.Join(parts, " · ")
}

// prechatText lists the pre-chat answers, known questions first.
func (b *Bot) prechatText(lang string, answers map[string]string) string {
	ids := make([]string, 0, len(answers))
	for id, v := range answers {
		if strings.TrimSpace(v) != "" {
			ids = append(ids, id)
		}
	}
	order := []string{"name", "interest", "phone"}
	slices.SortFunc(ids, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	var lines []string
	for _, id := range ids {
		label := id
		if b.cat.Has("staff.prechat." + id) {
			label = b.t(lang, "staff.prechat."+id)
		}
		lines = append(lines, label+": "+truncate(strings.TrimSpace(answers[id]), 200))
	}
	return strings.Join(lines, "\n")
}

// returningText is the line about a returning contact's previous leads ("" for a new one).
func (b *Bot) returningText(lang string, prev []router.PreviousLead) string {
	if len(prev) == 0 {
		return ""
	}
	var won, lost, open int
	for _, p := range prev {
		switch {
		case p.Outcome == "won":
			won++
		case p.Outcome == "lost":
			lost++
		case p.State != router.StateClosed:
			open++
		}
	}
	s := b.t(lang, "staff.returning", "n", len(prev))
	var parts []string
	for _, x := range []struct {
		key string
		n   int
	}{{"staff.returning.won", won}, {"staff.returning.lost", lost}, {"staff.returning.open", open}} {
		if x.n > 0 {
			parts = append(parts, b.t(lang, x.key, "n", x.n))
		}
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	var refs []string
	for _, p := range prev[:min(len(prev), 3)] {
		r := "/h " + i64(p.ID)
		if p.Qualification != "" {
			r += " — " + b.t(lang, "qual."+p.Qualification)
		}
		refs = append(refs, r)
	}
	return s + "\n" + strings.Join(refs, " · ")
}

// context is what a manager should know at a glance about a lead, one item per line:
// source, qualification, pre-chat answers, a returning contact's previous leads.
func (b *Bot) contextLines(lang string, c *router.Conversation) []string {
	var lines []string
	if s := sourceText(c); s != "" {
		lines = append(lines, b.t(lang, "staff.offer.source", "source", s))
	}
	if len(c.Tags) > 0 {
		lines = append(lines, b.t(lang, "staff.offer.tags", "tags", strings.Join(c.Tags, ", ")))
	}
	if len(c.Explanation) > 0 {
		lines = append(lines, b.t(lang, "staff.offer.rules", "rules", strings.Join(c.Explanation, "; ")))
	}
	if p := b.prechatText(lang, c.PreChat); p != "" {
		lines = append(lines, p)
	}
	if r := b.returningText(lang, c.Previous); r != "" {
		lines = append(lines, r)
	}
	return lines
}

// offerText is the offer a manager decides on. sameAgain: the previous offer of this lead
// went to the same manager (nobody else was free).
func (b *Bot) offerText(ctx context.Context, lang string, c *router.Conversation, sameAgain bool) string {
	var sb strings.Builder
	sb.WriteString(b.t(lang, "staff.offer.title", "id", c.ID, "channel", b.channelName(lang, c.Channel)))
	sb.WriteString("\n" + b.customerName(lang, c))
	if c.Phone != "" {
		sb.WriteString(" · " + c.Phone)
	}
	if c.Email != "" {
		sb.WriteString(" · " + c.Email)
	}
	for _, l := range b.contextLines(lang, c) {
		sb.WriteString("\n" + l)
	}
	if w := b.waited(lang, c.FirstInboundAt); w != "" {
		sb.WriteString("\n" + b.t(lang, "staff.offer.waiting", "wait", w))
	}
	switch {
	case sameAgain && c.Offers > 1:
		sb.WriteString("\n" + b.t(lang, "staff.offer.reoffer_same"))
	case c.Offers > 1:
		sb.WriteString("\n" + b.t(lang, "staff.offer.reoffer", "n", c.Offers))
	}
	if q := b.customerWords(ctx, lang, c.ID); q != "" {
		sb.WriteString("\n" + q)
	}
	return strings.TrimSpace(sb.String())
}

// assignedText is the card of a lead the manager took: how to answer, the contact, the
// context and the customer's words.
func (b *Bot) assignedText(ctx context.Context, lang string, c *router.Conversation, id int64) string {
	var sb strings.Builder
	sb.WriteString(b.t(lang, "staff.assigned", "lead", b.header(lang, c, id), "id", id))
	if c == nil {
		return sb.String()
	}
	if c.Phone != "" {
		sb.WriteString("\n" + b.t(lang, "staff.phone", "phone", c.Phone))
	}
	for _, l := range b.contextLines(lang, c) {
		sb.WriteString("\n" + l)
	}
	if q := b.customerWords(ctx, lang, id); q != "" {
		sb.WriteString("\n" + q)
	}
	return sb.String()
}

// historyLimit is how many messages /h shows.
const historyLimit = 10

// historyText is the last messages of a lead (/h N).
func (b *Bot) historyText(ctx context.Context, mgr, lang string, loc *time.Location, id int64) (string, error) {
	c, err := b.d.Desk.Conversation(ctx, id)
	if err != nil {
		return "", err
	}
	if ok, err := b.mayRead(ctx, mgr, c); err != nil || !ok {
		return "", cmpOrErr(err, router.ErrNotFound)
	}
	msgs, err := b.d.Desk.Transcript(ctx, id, 3*historyLimit)
	if err != nil {
		return "", err
	}
	lead := b.header(lang, c, id)
	lines := b.transcriptLines(lang, loc, msgs, 600)
	if len(lines) == 0 {
		return b.t(lang, "staff.history.empty", "lead", lead), nil
	}
	lines = lines[max(0, len(lines)-historyLimit):]
	return b.t(lang, "staff.history.header", "lead", lead, "n", len(lines)) + "\n\n" + strings.Join(lines, "\n"), nil
}

// transcriptLines renders a transcript as "14:05 · Who: text" lines (reactions left out),
// each text cut to limit characters.
func (b *Bot) transcriptLines(lang string, loc *time.Location, msgs []router.Message, limit int) []string {
	var lines []string
	for _, m := range msgs {
		if m.Kind == "reaction" {
			continue
		}
		t := b.lineText(lang, m)
		if t == "" {
			continue
		}
		who := b.t(lang, "staff.history.customer")
		switch {
		case m.Dir == "in":
		case m.Kind == "note":
			who = b.t(lang, "staff.history.note")
		case m.ManagerID != "":
			who = cmpOr(b.names[m.ManagerID], m.ManagerID)
		default:
			who = b.t(lang, "staff.history.auto")
		}
		lines = append(lines, fmt.Sprintf("%s · %s: %s", b.when(loc, m.At), who, truncate(t, limit)))
	}
	return lines
}

// mayRead is the agent API's rule for reading a lead: supervisors read every lead, a
// lead-manager those offered or assigned to them (or that were), and the previous leads of a
// returning contact whose lead they hold now.
func (b *Bot) mayRead(ctx context.Context, mgr string, c *router.Conversation) (bool, error) {
	if b.d.Desk.Role(mgr) == router.RoleSupervisor || c.ManagerID == mgr || c.Holder() == mgr || c.OfferTo == mgr ||
		c.SalesOfferTo == mgr || c.SalesManagerID == mgr {
		return true, nil
	}
	v, err := b.d.Desk.Manager(ctx, mgr)
	if err != nil {
		return false, err
	}
	for _, mine := range append(slices.Clone(v.Offers), v.Conversations...) {
		cur, err := b.d.Desk.Conversation(ctx, mine.ID)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(cur.Previous, func(p router.PreviousLead) bool { return p.ID == c.ID }) {
			return true, nil
		}
	}
	return false, nil
}

func cmpOrErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// when is a message time for /h in the reader's time zone: "14:05", or "02.03 14:05" on
// another day than today.
func (b *Bot) when(loc *time.Location, at time.Time) string {
	if at.IsZero() {
		return "—"
	}
	now := b.d.Clock.Now().In(loc)
	at = at.In(loc)
	if y, m, d := at.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return at.Format("15:04")
	}
	return at.Format("02.01 15:04")
}

// reasonText renders a failure or alert reason: a catalogue message carried as data
// (locale.Msg.Encode) in the reader's language; plain text (from before the upgrade, or a
// channel that gave none) as is.
func (b *Bot) reasonText(lang, reason string) string {
	if m, ok := locale.Decode(reason); ok {
		return b.cat.Render(lang, m)
	}
	return reason
}
