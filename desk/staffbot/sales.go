package staffbot

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lidorub/lidorub/router"
)

// The second tier in the staff bot (README "The sales tier").
//
// Lead-manager: a handing-off level (sales.handoff_levels) from the qualification buttons asks
// for a note for sales first; the manager's next plain message (or a reply to the prompt) is
// the note, the "Skip note" button hands off without one. The pending note is kept in
// {P}:ch:telegram:staff:note:<manager> for pendingTTL. A lead returned by sales
// (EventSalesReturned) is announced with the reason and the lead's buttons again.
//
// Sales manager: EventSalesOffer sends a sales lead card (contact, channel, the lead-manager's
// note, the matched qualification rules, how long it waited, the transcript so far) with
// Accept / Reject; Reject shows the configured rejection reasons. Accepting turns the card
// into the lead's card (replies to it reach the customer, as for a lead-manager; writing to
// the customer marks them contacted) with Contacted / Won / Lost; Won asks for an optional
// amount ({P}:ch:telegram:staff:amount:<manager>), Lost shows the loss reasons. Every sales
// button carries the sales offer seq: a button of an earlier offer answers with a toast and
// does nothing.

// pendingTTL bounds how long a note or amount prompt waits for its answer.
const pendingTTL = 15 * time.Minute

// cardLimit is how long a sales card may be (Telegram's limit is 4096, with some room).
const cardLimit = 4000

// levelCodes maps qualification levels to their button codes.
var levelCodes = map[string]string{"h": router.QualHot, "w": router.QualWarm, "t": router.QualTourist}

// salesOn reports whether a sales manager is configured.
func (b *Bot) salesOn() bool {
	return slices.ContainsFunc(b.cfg.Managers, func(m router.Manager) bool { return m.Role == router.RoleSales })
}

// handsOff reports whether qualifying a lead at level hands it to sales.
func (b *Bot) handsOff(level string) bool {
	return b.salesOn() && slices.Contains(b.cfg.Sales.HandoffLevels, level)
}

func (b *Bot) noteKey(mgr string) string   { return b.key("note", mgr) }
func (b *Bot) amountKey(mgr string) string { return b.key("amount", mgr) }

// salesOfferKey holds "<chat>:<message>" of the sales card of (conversation, seq, manager).
func (b *Bot) salesOfferKey(convID, seq int64, mgr string) string {
	return b.key("soffer", i64(convID), i64(seq), mgr)
}

func (b *Bot) salesOfferMessage(ctx context.Context, convID, seq int64, mgr string) (msgRef, bool) {
	v, err := b.d.Redis.Get(ctx, b.salesOfferKey(convID, seq, mgr)).Result()
	if err != nil {
		return msgRef{}, false
	}
	c, m, _ := strings.Cut(v, ":")
	chat, _ := strconv.ParseInt(c, 10, 64)
	msg, _ := strconv.Atoi(m)
	return msgRef{chat, msg}, chat != 0 && msg != 0
}

func (b *Bot) setPending(ctx context.Context, key string, fields ...any) error {
	pipe := b.d.Redis.TxPipeline()
	pipe.Del(ctx, key)
	pipe.HSet(ctx, key, fields...)
	pipe.Expire(ctx, key, pendingTTL)
	_, err := pipe.Exec(ctx)
	return err
}

// ---- lead-manager: handoff with a note ---------------------------------------------------------

// askNote answers a handing-off qualification button: the prompt for a note with Skip note.
func (b *Bot) askNote(ctx context.Context, q *tgbotapi.CallbackQuery, mgr string, convID int64, code string) error {
	lang := b.langOf(mgr)
	c, err := b.d.Desk.Conversation(ctx, convID)
	if err != nil && !errors.Is(err, router.ErrNotFound) {
		return err
	}
	if c == nil || c.State != router.StateAssigned || c.ManagerID != mgr || q.Message == nil || q.Message.Chat == nil {
		b.answer(ctx, q, b.t(lang, "staff.toast.not_yours", "id", convID))
		b.dropButtons(ctx, q)
		return nil
	}
	chat := q.Message.Chat.ID
	k := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.skip_note"), "n:"+i64(convID)+":"+code)))
	b.answer(ctx, q, "")
	msgID, err := b.send(ctx, chat, 0, b.t(lang, "staffbot.sales.note.prompt", "id", convID,
		"level", b.t(lang, "qual."+levelCodes[code])), &k)
	if err != nil {
		b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
		return nil
	}
	return b.setPending(ctx, b.noteKey(mgr), "conv", convID, "level", levelCodes[code], "prompt", msgID)
}

// skipNote hands the lead off without a note (the Skip note button).
func (b *Bot) skipNote(ctx context.Context, q *tgbotapi.CallbackQuery, mgr string, convID int64, code string) error {
	lang := b.langOf(mgr)
	level := levelCodes[code]
	if !b.handsOff(level) {
		b.answer(ctx, q, b.t(lang, "staff.toast.unknown_button"))
		return nil
	}
	if q.Message == nil || q.Message.Chat == nil {
		return nil
	}
	b.dropPending(ctx, b.noteKey(mgr), convID)
	b.answer(ctx, q, "")
	b.dropButtons(ctx, q)
	return b.handoff(ctx, mgr, q.Message.Chat.ID, convID, level, "")
}

// dropPending deletes a pending note or amount if it is for convID.
func (b *Bot) dropPending(ctx context.Context, key string, convID int64) {
	if v, _ := b.d.Redis.HGet(ctx, key, "conv").Int64(); v == convID {
		_ = b.d.Redis.Del(ctx, key).Err()
	}
}

// handoff hands the lead to sales and tells the lead-manager; their cards lose their buttons.
func (b *Bot) handoff(ctx context.Context, mgr string, chat, convID int64, level, note string) error {
	lang := b.langOf(mgr)
	err := b.d.Desk.Handoff(ctx, convID, mgr, level, note)
	switch {
	case err == nil:
	case errors.Is(err, router.ErrNotYours), errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrConflict):
		b.say(ctx, chat, b.t(lang, "staff.toast.not_yours", "id", convID))
		return nil
	case errors.Is(err, router.ErrInvalid):
		b.say(ctx, chat, b.replyError(lang, err))
		return nil
	default:
		return err
	}
	b.clearActive(ctx, mgr, convID)
	c, _ := b.d.Desk.Conversation(ctx, convID)
	card, err := b.retireCards(ctx, convID, mgr, "")
	if err != nil {
		b.d.Log.Warn("staffbot: cards not retired", "conversation", convID, "err", err)
	}
	key := "staffbot.sales.handed_off"
	if note != "" {
		key = "staffbot.sales.handed_off_note"
	}
	if _, err := b.sendReply(ctx, chat, 0, b.t(lang, key, "lead", b.header(lang, c, convID), "level", b.t(lang, "qual."+level)), nil, card.msg); err != nil {
		b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
	}
	return nil
}

// salesInput takes a manager's message as their pending note for sales or won amount: a
// plain message or a reply to the prompt. It reports false when none waits.
func (b *Bot) salesInput(ctx context.Context, mgr string, m *tgbotapi.Message) (bool, error) {
	text := strings.TrimSpace(m.Text)
	if text == "" {
		return false, nil
	}
	for _, key := range []string{b.noteKey(mgr), b.amountKey(mgr)} {
		h, err := b.d.Redis.HGetAll(ctx, key).Result()
		if err != nil {
			return false, err
		}
		if len(h) == 0 {
			continue
		}
		if r := m.ReplyToMessage; r != nil && strconv.Itoa(r.MessageID) != h["prompt"] {
			continue // a reply to another message: to the customer as usual
		}
		convID, _ := strconv.ParseInt(h["conv"], 10, 64)
		chat := m.Chat.ID
		if key == b.noteKey(mgr) {
			// a re-read update must not hand off twice
			return true, b.once(ctx, b.key("in", i64(chat), strconv.Itoa(m.MessageID)), func() error {
				if err := b.d.Redis.Del(ctx, key).Err(); err != nil {
					return err
				}
				b.dropPromptButtons(ctx, chat, h["prompt"])
				return b.handoff(ctx, mgr, chat, convID, h["level"], text)
			})
		}
		seq, _ := strconv.ParseInt(h["seq"], 10, 64)
		amount, ok := parseAmount(text)
		if !ok {
			b.say(ctx, chat, b.t(b.langOf(mgr), "staffbot.sales.won.invalid_amount"))
			return true, nil
		}
		return true, b.once(ctx, b.key("in", i64(chat), strconv.Itoa(m.MessageID)), func() error {
			if err := b.d.Redis.Del(ctx, key).Err(); err != nil {
				return err
			}
			b.dropPromptButtons(ctx, chat, h["prompt"])
			return b.recordOutcome(ctx, mgr, chat, convID, seq, router.Outcome{Result: router.OutcomeWon, Amount: amount})
		})
	}
	return false, nil
}

// dropPromptButtons removes the Skip button of an answered note or amount prompt.
func (b *Bot) dropPromptButtons(ctx context.Context, chat int64, prompt string) {
	id, _ := strconv.Atoi(prompt)
	if id == 0 {
		return
	}
	e := tgbotapi.NewEditMessageReplyMarkup(chat, id, tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}})
	if _, err := b.d.Client.Request(ctx, e); err != nil {
		b.d.Log.Debug("staffbot: buttons not removed", "err", err)
	}
}

// parseAmount reads "150000", "150 000", "150 000,50" or "150000.50".
func parseAmount(s string) (float64, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '\u2009', '_':
			return -1
		case ',':
			return '.'
		}
		return r
	}, s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// formatAmount writes an amount with grouped thousands: "150 000", "150 000,50" (ru),
// "150,000.50" (en).
func formatAmount(lang string, v float64) string {
	sep, dec := ",", "."
	if lang == "ru" {
		sep, dec = " ", ","
	}
	cents := int64(math.Round(v * 100))
	whole, frac := strconv.FormatInt(cents/100, 10), cents%100
	var sb strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			sb.WriteString(sep)
		}
		sb.WriteRune(r)
	}
	if frac != 0 {
		sb.WriteString(dec + strconv.FormatInt(100+frac, 10)[1:])
	}
	return sb.String()
}

// notifySalesReturned tells the lead-manager that sales returned their lead, with the reason;
// the lead is theirs again (its buttons are back).
func (b *Bot) notifySalesReturned(ctx context.Context, ev router.Event) error {
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	lang := b.langOf(ev.ManagerID)
	text := b.t(lang, "staffbot.sales.returned", "lead", b.header(lang, ev.Conversation, ev.ConversationID),
		"reason", b.reasonText2(lang, b.cfg.Sales.RejectionReasons, ev.Reason), "id", ev.ConversationID)
	return b.once(ctx, b.key("done", ev.ID, "sreturned"), func() error {
		msgID, err := b.send(ctx, chat, ev.ConversationID, text, b.convButtons(lang, ev.ConversationID))
		if err != nil {
			return b.deliverable(err, "sales returned", chat)
		}
		b.addCard(ctx, ev.ConversationID, ev.ManagerID, chat, msgID)
		return b.setActive(ctx, ev.ManagerID, ev.ConversationID)
	})
}

// reasonText2 is a configured reason's text in lang (the id when it is not configured).
func (b *Bot) reasonText2(lang string, rs []router.SalesReason, id string) string {
	for _, r := range rs {
		if r.ID == id {
			return router.ReasonText(b.cat, r, lang)
		}
	}
	return router.ReasonText(b.cat, router.SalesReason{ID: id}, lang)
}

// ---- sales manager: the card -------------------------------------------------------------------

// salesCardText is a sales lead's card: the title (offered or accepted), the contact, who
// handed it off and their note, the matched rules, how long it waited, the transcript.
func (b *Bot) salesCardText(ctx context.Context, lang, mgr string, c *router.Conversation, accepted bool) string {
	var head strings.Builder
	if accepted {
		head.WriteString(b.t(lang, "staffbot.sales.card.accepted", "id", c.ID, "channel", b.channelName(lang, c.Channel)))
	} else {
		head.WriteString(b.t(lang, "staffbot.sales.card.offer", "id", c.ID, "channel", b.channelName(lang, c.Channel)))
	}
	head.WriteString("\n" + b.customerName(lang, c))
	if c.Phone != "" {
		head.WriteString(" · " + c.Phone)
	}
	if c.Email != "" {
		head.WriteString(" · " + c.Email)
	}
	from := cmpOr(b.names[c.LeadManagerID], c.LeadManagerID)
	if c.Qualification != "" {
		head.WriteString("\n" + b.t(lang, "staffbot.sales.card.from", "manager", from, "level", b.t(lang, "qual."+c.Qualification)))
	}
	if c.HandoffNote != "" {
		head.WriteString("\n" + b.t(lang, "staffbot.sales.card.note", "note", truncate(c.HandoffNote, 1000)))
	} else {
		head.WriteString("\n" + b.t(lang, "staffbot.sales.card.no_note"))
	}
	if len(c.Explanation) > 0 {
		head.WriteString("\n" + b.t(lang, "staff.offer.rules", "rules", strings.Join(c.Explanation, "; ")))
	}
	if w := b.waited(lang, c.FirstInboundAt); w != "" {
		s := b.waited(lang, c.HandedOffAt)
		if s == "" {
			s = w
		}
		head.WriteString("\n" + b.t(lang, "staffbot.sales.card.waiting", "wait", w, "sales", s))
	}
	if accepted {
		head.WriteString("\n" + b.t(lang, "staffbot.sales.card.how", "id", c.ID))
	}
	text := head.String()
	msgs, err := b.d.Desk.Transcript(ctx, c.ID, 0)
	if err != nil {
		b.d.Log.Warn("staffbot: transcript not read", "conversation", c.ID, "err", err)
		return text
	}
	lines := b.transcriptLines(lang, b.tzOf(mgr), msgs, quoteLimit)
	if len(lines) == 0 {
		return text
	}
	// the newest lines that fit; the earlier ones are behind /h
	budget := cardLimit - len([]rune(text)) - 200
	var kept []string
	for i := len(lines) - 1; i >= 0; i-- {
		n := len([]rune(lines[i])) + 1
		if n > budget {
			break
		}
		budget -= n
		kept = append(kept, lines[i])
	}
	slices.Reverse(kept)
	text += "\n\n" + b.t(lang, "staffbot.sales.card.transcript")
	if len(kept) < len(lines) {
		text += "\n" + b.t(lang, "staffbot.sales.card.earlier", "id", c.ID)
	}
	return text + "\n" + strings.Join(kept, "\n")
}

func (b *Bot) offerKeyboard(lang string, convID, seq int64) *tgbotapi.InlineKeyboardMarkup {
	s := i64(convID) + ":" + i64(seq)
	k := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.accept"), "sa:"+s),
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.reject"), "sr:"+s),
	))
	return &k
}

// workKeyboard is an accepted lead's buttons (Contacted only until they are contacted).
func (b *Bot) workKeyboard(lang string, convID, seq int64, contacted bool) *tgbotapi.InlineKeyboardMarkup {
	s := i64(convID) + ":" + i64(seq)
	var row []tgbotapi.InlineKeyboardButton
	if !contacted {
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.contacted"), "sc:"+s))
	}
	row = append(row,
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.won"), "sw:"+s),
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.lost"), "sl:"+s))
	k := tgbotapi.NewInlineKeyboardMarkup(row,
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.history"), "h:"+i64(convID))))
	return &k
}

// reasonsKeyboard lists reasons (one a row; code sx reject, so lost) and Back (code back).
func (b *Bot) reasonsKeyboard(lang string, rs []router.SalesReason, code, back string, convID, seq int64) *tgbotapi.InlineKeyboardMarkup {
	s := i64(convID) + ":" + i64(seq)
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, r := range rs {
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(router.ReasonText(b.cat, r, lang), code+":"+s+":"+r.ID)))
	}
	rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.back"), back+":"+s)))
	k := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &k
}

func (b *Bot) notifySalesOffer(ctx context.Context, ev router.Event) error {
	c := ev.Conversation
	if c == nil || c.SalesState != router.SalesOffered || c.SalesOfferTo != ev.ManagerID || c.SalesOfferSeq != ev.OfferSeq {
		return nil // already over
	}
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	key := b.salesOfferKey(ev.ConversationID, ev.OfferSeq, ev.ManagerID)
	ok, err := b.d.Redis.SetNX(ctx, key, "pending", keyTTL).Result()
	if err != nil || !ok {
		return err
	}
	lang := b.langOf(ev.ManagerID)
	msgID, err := b.send(ctx, chat, c.ID, b.salesCardText(ctx, lang, ev.ManagerID, c, false), b.offerKeyboard(lang, c.ID, ev.OfferSeq))
	if err != nil {
		_ = b.d.Redis.Del(context.WithoutCancel(ctx), key).Err()
		return b.deliverable(err, "sales offer", chat)
	}
	return b.d.Redis.Set(ctx, key, i64(chat)+":"+strconv.Itoa(msgID), keyTTL).Err()
}

// notifySalesAccepted turns the sales card into the accepted lead's card (or sends one when
// it was accepted through the API).
func (b *Bot) notifySalesAccepted(ctx context.Context, ev router.Event) error {
	chat := b.tgByID[ev.ManagerID]
	c := ev.Conversation
	if chat == 0 || c == nil {
		return nil
	}
	if err := b.setActive(ctx, ev.ManagerID, ev.ConversationID); err != nil {
		return err
	}
	lang := b.langOf(ev.ManagerID)
	text := b.salesCardText(ctx, lang, ev.ManagerID, c, true)
	kb := b.workKeyboard(lang, c.ID, ev.OfferSeq, c.SalesState == router.SalesContacted)
	if c.SalesState != router.SalesAccepted && c.SalesState != router.SalesContacted {
		kb = nil // an outcome is recorded already
	}
	if ref, ok := b.salesOfferMessage(ctx, ev.ConversationID, ev.OfferSeq, ev.ManagerID); ok {
		b.addCard(ctx, ev.ConversationID, ev.ManagerID, ref.chat, ref.msg)
		b.remember(ctx, ref.chat, ref.msg, ev.ConversationID)
		return b.deliverable(b.edit(ctx, ref.chat, ref.msg, text, kb), "sales accepted", ref.chat)
	}
	return b.once(ctx, b.key("done", ev.ID, "saccepted"), func() error {
		msgID, err := b.send(ctx, chat, ev.ConversationID, text, kb)
		if err == nil {
			b.addCard(ctx, ev.ConversationID, ev.ManagerID, chat, msgID)
		}
		return b.deliverable(err, "sales accepted", chat)
	})
}

// notifySalesWithdrawn: the offer lapsed, the customer was not contacted in time, or a
// supervisor picked someone else: the card says so and loses its buttons.
func (b *Bot) notifySalesWithdrawn(ctx context.Context, ev router.Event) error {
	lang := b.langOf(ev.ManagerID)
	reason := ev.Reason
	switch reason {
	case "lapsed", "no_contact", "manual", "closed", "offline":
	default:
		reason = "manual"
	}
	// lapsed, and offered to the same manager again (nobody else was free): say so
	if c := ev.Conversation; reason == "lapsed" && c != nil && c.SalesState == router.SalesOffered &&
		c.SalesOfferTo == ev.ManagerID && c.SalesOfferSeq > ev.OfferSeq {
		reason = "lapsed_again"
	}
	text := b.t(lang, "staffbot.sales.withdrawn."+reason, "id", ev.ConversationID)
	b.clearActive(ctx, ev.ManagerID, ev.ConversationID)
	b.dropPending(ctx, b.amountKey(ev.ManagerID), ev.ConversationID)
	if _, err := b.retireCards(ctx, ev.ConversationID, ev.ManagerID, text); err != nil {
		return err
	}
	if ref, ok := b.salesOfferMessage(ctx, ev.ConversationID, ev.OfferSeq, ev.ManagerID); ok {
		return b.deliverable(b.edit(ctx, ref.chat, ref.msg, text, nil), "sales withdrawn", ref.chat)
	}
	return nil
}

// ---- sales manager: the buttons ------------------------------------------------------------------

// salesButton handles the sales card's buttons: sa accept, sr reject (→ reasons), sb back to
// Accept / Reject, sx:<reason> reject; sc contacted, sw won (→ amount), sn won without an
// amount, sl lost (→ reasons), sk back, so:<reason> lost. seq is the sales offer seq.
func (b *Bot) salesButton(ctx context.Context, q *tgbotapi.CallbackQuery, mgr, code string, convID, seq int64, arg string) error {
	lang := b.langOf(mgr)
	if q.Message == nil || q.Message.Chat == nil {
		b.answer(ctx, q, b.t(lang, "staff.toast.unknown_button"))
		return nil
	}
	chat, msgID := q.Message.Chat.ID, q.Message.MessageID
	c, err := b.d.Desk.Conversation(ctx, convID)
	if err != nil && !errors.Is(err, router.ErrNotFound) {
		return err
	}
	offered := c != nil && c.SalesState == router.SalesOffered && c.SalesOfferTo == mgr && c.SalesOfferSeq == seq
	held := c != nil && (c.SalesState == router.SalesAccepted || c.SalesState == router.SalesContacted) &&
		c.SalesManagerID == mgr && c.ManagerID == mgr && c.SalesOfferSeq == seq
	valid := held
	if slices.Contains([]string{"sa", "sr", "sb", "sx"}, code) {
		valid = offered
	}
	if !valid {
		b.answer(ctx, q, b.t(lang, "staffbot.sales.toast.stale", "id", convID))
		if !offered && !held {
			b.dropButtons(ctx, q) // a card of a lead no longer theirs (a double tap keeps the current one)
		}
		return nil
	}
	markup := func(k *tgbotapi.InlineKeyboardMarkup) {
		e := tgbotapi.NewEditMessageReplyMarkup(chat, msgID, *k)
		if _, err := b.d.Client.Request(ctx, e); err != nil {
			b.d.Log.Debug("staffbot: buttons not changed", "err", err)
		}
	}
	switch code {
	case "sr":
		b.answer(ctx, q, "")
		markup(b.reasonsKeyboard(lang, b.cfg.Sales.RejectionReasons, "sx", "sb", convID, seq))
		return nil
	case "sb":
		b.answer(ctx, q, "")
		markup(b.offerKeyboard(lang, convID, seq))
		return nil
	case "sl":
		b.answer(ctx, q, "")
		markup(b.reasonsKeyboard(lang, b.cfg.Sales.LossReasons, "so", "sk", convID, seq))
		return nil
	case "sk":
		b.answer(ctx, q, "")
		markup(b.workKeyboard(lang, convID, seq, c.SalesState == router.SalesContacted))
		return nil
	case "sw":
		b.answer(ctx, q, "")
		k := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staffbot.sales.button.skip_amount"), "sn:"+i64(convID)+":"+i64(seq))))
		p, err := b.send(ctx, chat, 0, b.t(lang, "staffbot.sales.won.prompt", "id", convID, "currency", b.cfg.Sales.Currency), &k)
		if err != nil {
			b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
			return nil
		}
		return b.setPending(ctx, b.amountKey(mgr), "conv", convID, "seq", seq, "prompt", p)
	case "sn":
		b.dropPending(ctx, b.amountKey(mgr), convID)
		b.answer(ctx, q, "")
		b.dropButtons(ctx, q)
		return b.recordOutcome(ctx, mgr, chat, convID, seq, router.Outcome{Result: router.OutcomeWon})
	case "so":
		b.answer(ctx, q, "")
		return b.recordOutcome(ctx, mgr, chat, convID, seq, router.Outcome{Result: router.OutcomeLost, Reason: arg})
	}
	var toast string
	switch code {
	case "sa":
		err = b.d.Desk.SalesAccept(ctx, convID, mgr)
		toast = b.t(lang, "staffbot.sales.toast.accepted", "id", convID)
	case "sx":
		err = b.d.Desk.SalesReject(ctx, convID, mgr, arg)
		toast = b.t(lang, "staffbot.sales.toast.rejected", "id", convID)
	case "sc":
		err = b.d.Desk.SalesContacted(ctx, convID, mgr)
		toast = b.t(lang, "staffbot.sales.toast.contacted", "id", convID)
	}
	switch {
	case err == nil:
	case errors.Is(err, router.ErrNotYours), errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalid):
		b.answer(ctx, q, b.t(lang, "staffbot.sales.toast.stale", "id", convID))
		b.dropButtons(ctx, q)
		return nil
	default:
		b.answer(ctx, q, b.t(lang, "staff.toast.error"))
		return err
	}
	b.answer(ctx, q, toast)
	switch code {
	case "sa":
		b.remember(ctx, chat, msgID, convID)
		return b.setActive(ctx, mgr, convID)
	case "sx":
		text := b.t(lang, "staffbot.sales.rejected", "lead", b.header(lang, c, convID),
			"reason", b.reasonText2(lang, b.cfg.Sales.RejectionReasons, arg))
		return b.deliverable(b.edit(ctx, chat, msgID, text, nil), "sales rejected", chat)
	default: // sc
		markup(b.workKeyboard(lang, convID, seq, true))
	}
	return nil
}

// recordOutcome records won or lost; the lead's cards lose their buttons and the sales
// manager is told.
func (b *Bot) recordOutcome(ctx context.Context, mgr string, chat, convID, seq int64, o router.Outcome) error {
	lang := b.langOf(mgr)
	c, err := b.d.Desk.Conversation(ctx, convID)
	if err != nil && !errors.Is(err, router.ErrNotFound) {
		return err
	}
	if c == nil || c.SalesOfferSeq != seq || c.SalesManagerID != mgr {
		b.say(ctx, chat, b.t(lang, "staffbot.sales.toast.stale", "id", convID))
		return nil
	}
	err = b.d.Desk.RecordOutcome(ctx, convID, mgr, o)
	switch {
	case err == nil:
	case errors.Is(err, router.ErrNotYours), errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalid):
		b.say(ctx, chat, b.t(lang, "staffbot.sales.toast.stale", "id", convID))
		return nil
	default:
		return err
	}
	b.clearActive(ctx, mgr, convID)
	card, err := b.retireCards(ctx, convID, mgr, "")
	if err != nil {
		b.d.Log.Warn("staffbot: cards not retired", "conversation", convID, "err", err)
	}
	lead := b.header(lang, c, convID)
	var text string
	switch {
	case o.Result == router.OutcomeLost:
		text = b.t(lang, "staffbot.sales.lost", "lead", lead, "reason", b.reasonText2(lang, b.cfg.Sales.LossReasons, o.Reason))
	case o.Amount > 0:
		text = b.t(lang, "staffbot.sales.won.amount", "lead", lead, "amount", formatAmount(lang, o.Amount), "currency", b.cfg.Sales.Currency)
	default:
		text = b.t(lang, "staffbot.sales.won.no_amount", "lead", lead)
	}
	if _, err := b.sendReply(ctx, chat, 0, text, nil, card.msg); err != nil {
		b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
	}
	return nil
}
