package staffbot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// HandleStaffUpdate handles a message or button tap sent to the staff bot. On a bot shared
// with customers only configured managers' private messages and button taps are taken.
// Telegram errors while answering are logged, not returned: re-reading the update would not
// fix them and would hold the bot's other updates back.
func (b *Bot) HandleStaffUpdate(ctx context.Context, u *tgbotapi.Update, shared bool) (bool, error) {
	if q := u.CallbackQuery; q != nil {
		return true, b.handleCallback(ctx, q)
	}
	if e := u.EditedMessage; e != nil && e.From != nil && b.d.Desk.ManagerByTelegramID(e.From.ID) != "" {
		return true, nil // a manager edited a message: what the customer got cannot be edited
	}
	m := u.Message
	if m == nil || m.From == nil || m.Chat == nil {
		return !shared, nil
	}
	if m.Chat.Type != "private" {
		return !shared, nil // the supervisors' group: the bot only posts there
	}
	mgr := b.d.Desk.ManagerByTelegramID(m.From.ID)
	if mgr == "" {
		if shared {
			return false, nil // a customer of the shared bot
		}
		b.say(ctx, m.Chat.ID, b.t(b.cat.Lang(m.From.LanguageCode), "staff.refusal"))
		return true, nil
	}
	return true, b.handleMessage(ctx, mgr, m)
}

// say sends a short answer to a manager; failures are only logged.
func (b *Bot) say(ctx context.Context, chatID int64, text string) {
	if _, err := b.send(ctx, chatID, 0, text, nil); err != nil {
		b.d.Log.Warn("staffbot: answer not delivered", "chat", chatID, "err", err)
	}
}

func (b *Bot) handleMessage(ctx context.Context, mgr string, m *tgbotapi.Message) error {
	chat := m.Chat.ID
	lang := b.langOf(mgr)
	if cmd, args, ok := telegram.Command(m); ok {
		return b.command(ctx, mgr, chat, cmd, args)
	}
	// a pending note for sales or won amount takes a plain message or a reply to its prompt
	if handled, err := b.salesInput(ctx, mgr, m); handled || err != nil {
		return err
	}
	if m.ReplyToMessage == nil && strings.TrimSpace(m.Text) != "" {
		// a pending /edit waiting for the new value takes it; it is not a reply to the customer
		if handled, err := b.editInput(ctx, mgr, chat, m.Text); handled || err != nil {
			return err
		}
	}
	// which conversation: the one of the message replied to, else the active one
	var convID int64
	var err error
	if r := m.ReplyToMessage; r != nil {
		if convID, err = b.convOfMessage(ctx, chat, r.MessageID); err != nil {
			return err
		}
		if convID == 0 {
			b.say(ctx, chat, b.t(lang, "staff.reply.unknown_message"))
			return nil
		}
	} else if convID, err = b.active(ctx, mgr); err != nil {
		return err
	}
	if convID == 0 {
		b.say(ctx, chat, b.t(lang, "staff.reply.no_active"))
		return nil
	}
	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = strings.TrimSpace(m.Caption)
	}
	atts := telegram.Attachments(m)
	c, err := b.d.Desk.Conversation(ctx, convID)
	if err != nil {
		if errors.Is(err, router.ErrNotFound) {
			b.say(ctx, chat, b.t(lang, "staff.reply.lead_gone", "id", convID))
			return nil
		}
		return err
	}
	if len(atts) > 0 && !b.relayable(c) {
		atts = nil
		if text == "" {
			b.say(ctx, chat, b.t(lang, "staff.reply.files_not_relayable", "id", convID, "channel", b.channelName(lang, c.Channel)))
			return nil
		}
		b.say(ctx, chat, b.t(lang, "staff.reply.file_dropped"))
	}
	// a re-read update (crash before the offset was stored) must not reply twice
	return b.once(ctx, b.key("in", strconv.FormatInt(chat, 10), strconv.Itoa(m.MessageID)), func() error {
		_, err := b.d.Desk.Reply(ctx, convID, mgr, text, atts)
		switch {
		case err == nil:
			// the reply is queued: an error from here on must not make the update be read
			// again (the marker would be cleared and the reply queued twice)
			b.remember(ctx, chat, m.MessageID, convID)
			if err := b.setActive(ctx, mgr, convID); err != nil {
				b.d.Log.Warn("staffbot: could not make the lead active", "conversation", convID, "err", err)
			}
		case errors.Is(err, router.ErrNotYours):
			b.say(ctx, chat, b.t(lang, "staff.reply.not_yours", "id", convID))
		case errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalid), errors.Is(err, router.ErrNotFound):
			b.say(ctx, chat, b.replyError(lang, err))
		default:
			return err
		}
		return nil
	})
}

func (b *Bot) command(ctx context.Context, mgr string, chat int64, cmd, arg string) error {
	lang := b.langOf(mgr)
	switch cmd {
	case "online", "offline":
		online := cmd == "online"
		if err := b.d.Desk.SetOnline(ctx, mgr, online); err != nil {
			if errors.Is(err, router.ErrUnknownManager) {
				b.say(ctx, chat, b.t(lang, "staff.not_a_manager"))
				return nil
			}
			return err
		}
		b.say(ctx, chat, b.t(lang, "staff."+cmd))
	case "status", "list":
		v, err := b.d.Desk.Manager(ctx, mgr)
		if err != nil {
			return err
		}
		act, err := b.active(ctx, mgr)
		if err != nil {
			return err
		}
		text := b.statusText
		if cmd == "list" {
			text = b.listText
		}
		b.say(ctx, chat, text(lang, v, act))
	case "c":
		id, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
		if err != nil || id <= 0 {
			b.say(ctx, chat, b.t(lang, "staff.c.usage"))
			return nil
		}
		c, err := b.d.Desk.Conversation(ctx, id)
		if errors.Is(err, router.ErrNotFound) || (err == nil && (c.State != router.StateAssigned || c.Holder() != mgr)) {
			b.say(ctx, chat, b.t(lang, "staff.c.not_yours", "id", id))
			return nil
		}
		if err != nil {
			return err
		}
		if err := b.setActive(ctx, mgr, id); err != nil {
			return err
		}
		buttons := b.convButtons(lang, id)
		if c.SalesManagerID == mgr && (c.SalesState == router.SalesAccepted || c.SalesState == router.SalesContacted) {
			buttons = b.workKeyboard(lang, id, c.SalesOfferSeq, c.SalesState == router.SalesContacted)
		}
		msgID, err := b.send(ctx, chat, id, b.t(lang, "staff.c.active", "lead", b.header(lang, c, id)), buttons)
		if err != nil {
			b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
			return nil
		}
		b.addCard(ctx, id, mgr, chat, msgID)
	case "h":
		return b.history(ctx, mgr, chat, arg)
	case "edit":
		return b.editCommand(ctx, mgr, chat, arg)
	case "cancel":
		_ = b.d.Redis.Del(ctx, b.noteKey(mgr), b.amountKey(mgr)).Err()
		return b.cancelEdit(ctx, mgr, chat)
	default:
		b.say(ctx, chat, b.t(lang, "staff.help"))
	}
	return nil
}

// leadArg is the lead a command names: "N" or "#N", or the manager's active lead when arg is
// empty. 0 (with a nil error) when there is none: the usage text has been said.
func (b *Bot) leadArg(ctx context.Context, mgr string, chat int64, lang, arg, usageKey string) (int64, error) {
	if arg = strings.TrimPrefix(strings.TrimSpace(arg), "#"); arg != "" {
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n <= 0 {
			b.say(ctx, chat, b.t(lang, usageKey))
			return 0, nil
		}
		return n, nil
	}
	n, err := b.active(ctx, mgr)
	if err != nil || n != 0 {
		return n, err
	}
	b.say(ctx, chat, b.t(lang, usageKey))
	return 0, nil
}

// history answers /h N (or /h alone: the active lead) with the lead's last messages.
func (b *Bot) history(ctx context.Context, mgr string, chat int64, arg string) error {
	lang := b.langOf(mgr)
	id, err := b.leadArg(ctx, mgr, chat, lang, arg, "staff.history.usage")
	if id == 0 || err != nil {
		return err
	}
	text, err := b.historyText(ctx, mgr, lang, b.tzOf(mgr), id)
	switch {
	case errors.Is(err, router.ErrNotFound):
		b.say(ctx, chat, b.t(lang, "staff.reply.lead_gone", "id", id))
		return nil
	case err != nil:
		return err
	}
	if _, err := b.send(ctx, chat, 0, text, nil); err != nil {
		b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
	}
	return nil
}

// replyError says why a reply was not sent: a catalogue message when the desk gave one,
// else the error's own (English) text.
func (b *Bot) replyError(lang string, err error) string {
	var le *locale.Error
	if errors.As(err, &le) {
		return b.cat.Render(lang, le.Msg)
	}
	return b.t(lang, "staff.reply.not_sent", "reason", err.Error())
}

func (b *Bot) statusText(lang string, v *router.ManagerView, active int64) string {
	var sb strings.Builder
	state := b.t(lang, "staff.status.offline")
	if v.Online {
		state = b.t(lang, "staff.status.online")
	}
	sb.WriteString(b.t(lang, "staff.status.title", "name", v.Name, "state", state))
	if !v.OnShift {
		sb.WriteString(" " + b.t(lang, "staff.status.off_shift"))
	}
	sb.WriteString("\n" + b.t(lang, "staff.status.load", "load", v.Load, "capacity", v.Capacity))
	sb.WriteString("\n" + b.t(lang, "staff.status.queue", "n", v.QueueLength))
	if active != 0 {
		sb.WriteString("\n" + b.t(lang, "staff.status.active", "id", active))
	}
	sb.WriteString("\n" + b.t(lang, "staff.status.counts", "offers", len(v.Offers), "open", len(v.Conversations)))
	return sb.String()
}

func (b *Bot) listText(lang string, v *router.ManagerView, active int64) string {
	if len(v.Offers) == 0 && len(v.Conversations) == 0 {
		return b.t(lang, "staff.list.empty", "queue", v.QueueLength)
	}
	var sb strings.Builder
	for _, c := range v.Offers {
		sb.WriteString(b.t(lang, "staff.list.offer", "id", c.ID, "channel", b.channelName(lang, c.Channel), "customer", b.customerName(lang, &c)) + "\n")
	}
	for _, c := range v.Conversations {
		mark := ""
		if c.ID == active {
			mark = " " + b.t(lang, "staff.list.active")
		}
		q := ""
		if c.Qualification != "" {
			q = " · " + b.t(lang, "qual."+c.Qualification)
		}
		fmt.Fprintf(&sb, "💬 #%d · %s · %s%s%s  → /c %d\n", c.ID, b.channelName(lang, c.Channel), b.customerName(lang, &c), q, mark, c.ID)
	}
	sb.WriteString(b.t(lang, "staff.list.queue", "n", v.QueueLength))
	return sb.String()
}

// ---- buttons -----------------------------------------------------------------------------

func (b *Bot) answer(ctx context.Context, q *tgbotapi.CallbackQuery, text string) {
	if _, err := b.d.Client.Request(ctx, tgbotapi.NewCallback(q.ID, text)); err != nil {
		b.d.Log.Warn("staffbot: callback not answered", "err", err)
	}
}

// dropButtons removes the buttons of the message a stale button belongs to.
func (b *Bot) dropButtons(ctx context.Context, q *tgbotapi.CallbackQuery) {
	if q.Message == nil || q.Message.Chat == nil {
		return
	}
	e := tgbotapi.NewEditMessageReplyMarkup(q.Message.Chat.ID, q.Message.MessageID, tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}})
	if _, err := b.d.Client.Request(ctx, e); err != nil {
		b.d.Log.Debug("staffbot: buttons not removed", "err", err)
	}
}

func (b *Bot) handleCallback(ctx context.Context, q *tgbotapi.CallbackQuery) error {
	mgr := ""
	if q.From != nil {
		mgr = b.d.Desk.ManagerByTelegramID(q.From.ID)
	}
	if mgr == "" {
		code := ""
		if q.From != nil {
			code = q.From.LanguageCode
		}
		b.answer(ctx, q, b.t(b.cat.Lang(code), "staff.refusal"))
		return nil
	}
	lang := b.langOf(mgr)
	parts := strings.Split(q.Data, ":")
	var convID, seq int64
	if len(parts) >= 2 {
		convID, _ = strconv.ParseInt(parts[1], 10, 64)
	}
	if len(parts) >= 3 {
		seq, _ = strconv.ParseInt(parts[2], 10, 64)
	}
	if convID <= 0 {
		b.answer(ctx, q, b.t(lang, "staff.toast.unknown_button"))
		return nil
	}
	switch parts[0] {
	case "t", "p":
		c, err := b.d.Desk.Conversation(ctx, convID)
		if err != nil && !errors.Is(err, router.ErrNotFound) {
			return err
		}
		if c == nil || c.State != router.StateOffered || c.OfferTo != mgr || c.OfferSeq != seq {
			b.answer(ctx, q, b.t(lang, "staff.toast.offer_stale", "id", convID))
			b.dropButtons(ctx, q)
			return nil
		}
		if parts[0] == "t" {
			err = b.d.Desk.Accept(ctx, convID, mgr)
		} else {
			err = b.d.Desk.Pass(ctx, convID, mgr)
		}
		switch {
		case err == nil && parts[0] == "t":
			if q.Message != nil && q.Message.Chat != nil {
				b.remember(ctx, q.Message.Chat.ID, q.Message.MessageID, convID)
			}
			if err := b.setActive(ctx, mgr, convID); err != nil {
				return err
			}
			b.answer(ctx, q, b.t(lang, "staff.toast.taken", "id", convID))
		case err == nil:
			b.answer(ctx, q, b.t(lang, "staff.toast.passed", "id", convID))
		case errors.Is(err, router.ErrNotYours), errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrConflict):
			b.answer(ctx, q, b.t(lang, "staff.toast.offer_stale", "id", convID))
			b.dropButtons(ctx, q)
		default:
			b.answer(ctx, q, b.t(lang, "staff.toast.error"))
			return err
		}
	case "n":
		return b.skipNote(ctx, q, mgr, convID, strings.Join(parts[2:], ""))
	case "sa", "sr", "sb", "sx", "sc", "sw", "sn", "sl", "sk", "so":
		arg := ""
		if len(parts) >= 4 {
			arg = parts[3]
		}
		return b.salesButton(ctx, q, mgr, parts[0], convID, seq, arg)
	case "e":
		code := ""
		if len(parts) == 3 {
			code = parts[2]
		}
		return b.editButton(ctx, q, mgr, convID, code)
	case "h":
		b.answer(ctx, q, "")
		if q.Message != nil && q.Message.Chat != nil {
			return b.history(ctx, mgr, q.Message.Chat.ID, i64(convID))
		}
	case "q", "x":
		var err error
		done := ""
		if parts[0] == "x" {
			err, done = b.d.Desk.Close(ctx, convID, mgr), b.t(lang, "staff.toast.closed", "id", convID)
		} else {
			level := ""
			if len(parts) == 3 {
				level = map[string]string{"h": router.QualHot, "w": router.QualWarm, "t": router.QualTourist}[parts[2]]
			}
			if level == "" {
				b.answer(ctx, q, b.t(lang, "staff.toast.unknown_button"))
				return nil
			}
			if b.handsOff(level) {
				return b.askNote(ctx, q, mgr, convID, parts[2])
			}
			err = b.d.Desk.Qualify(ctx, convID, mgr, level)
			done = b.t(lang, "staff.toast."+level, "id", convID)
		}
		switch {
		case err == nil:
			b.answer(ctx, q, done)
		case errors.Is(err, router.ErrNotYours), errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalid):
			b.answer(ctx, q, b.t(lang, "staff.toast.not_yours", "id", convID))
			b.dropButtons(ctx, q)
		default:
			b.answer(ctx, q, b.t(lang, "staff.toast.error"))
			return err
		}
	default:
		b.answer(ctx, q, b.t(lang, "staff.toast.unknown_button"))
	}
	return nil
}
