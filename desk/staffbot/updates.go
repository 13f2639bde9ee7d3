package staffbot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/router"
)

const refusal = "Sorry, this bot is only for our team. If you have a question, please write to our customer bot."

const help = `Commands:
/online – receive new leads
/offline – stop receiving leads (unanswered ones go back to the queue)
/status – your state, your leads and the queue
/list – your offers and open leads
/c N – make lead #N the active one

Tap ✅ Take on an offer to get the lead. Then reply (Telegram "Reply") to any message of that lead, or simply write: plain messages go to your active lead. Photos and documents are relayed too.
Buttons 🔥 Hot / Warm / Tourist / Close qualify or close the lead (Tourist sends the polite closing message).`

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
		b.say(ctx, m.Chat.ID, refusal)
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
	if cmd, args, ok := telegram.Command(m); ok {
		return b.command(ctx, mgr, chat, cmd, args)
	}
	// which conversation: the one of the message replied to, else the active one
	var convID int64
	var err error
	if r := m.ReplyToMessage; r != nil {
		if convID, err = b.convOfMessage(ctx, chat, r.MessageID); err != nil {
			return err
		}
		if convID == 0 {
			b.say(ctx, chat, "I don't know which lead that message belongs to. Use /list and /c N, then write again.")
			return nil
		}
	} else if convID, err = b.active(ctx, mgr); err != nil {
		return err
	}
	if convID == 0 {
		b.say(ctx, chat, "You have no active lead. Take an offer, or use /list and /c N.")
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
			b.say(ctx, chat, fmt.Sprintf("Lead #%d no longer exists.", convID))
			return nil
		}
		return err
	}
	if len(atts) > 0 && !b.relayable(c) {
		atts = nil
		if text == "" {
			b.say(ctx, chat, fmt.Sprintf("Files can only be relayed to customers who write to this same Telegram bot; lead #%d is on %s. Please send text.", convID, c.Channel))
			return nil
		}
		b.say(ctx, chat, "Your file was not relayed (the customer is on another channel); the text was.")
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
			b.say(ctx, chat, fmt.Sprintf("Lead #%d is not yours (any more); your message was not sent.", convID))
		case errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalid), errors.Is(err, router.ErrNotFound):
			b.say(ctx, chat, "Not sent: "+err.Error())
		default:
			return err
		}
		return nil
	})
}

func (b *Bot) command(ctx context.Context, mgr string, chat int64, cmd, arg string) error {
	switch cmd {
	case "online", "offline":
		online := cmd == "online"
		if err := b.d.Desk.SetOnline(ctx, mgr, online); err != nil {
			if errors.Is(err, router.ErrUnknownManager) {
				b.say(ctx, chat, "You are not set up as a lead-manager.")
				return nil
			}
			return err
		}
		if online {
			b.say(ctx, chat, "🟢 You are online. New leads will arrive here.")
		} else {
			b.say(ctx, chat, "⚪ You are offline. Leads you have not answered went back to the queue.")
		}
	case "status", "list":
		v, err := b.d.Desk.Manager(ctx, mgr)
		if err != nil {
			return err
		}
		act, err := b.active(ctx, mgr)
		if err != nil {
			return err
		}
		text := statusText
		if cmd == "list" {
			text = listText
		}
		b.say(ctx, chat, text(v, act))
	case "c":
		id, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
		if err != nil || id <= 0 {
			b.say(ctx, chat, "Usage: /c N, where N is the lead number (see /list).")
			return nil
		}
		c, err := b.d.Desk.Conversation(ctx, id)
		if errors.Is(err, router.ErrNotFound) || (err == nil && (c.State != router.StateAssigned || c.ManagerID != mgr)) {
			b.say(ctx, chat, fmt.Sprintf("Lead #%d is not one of your open leads (see /list).", id))
			return nil
		}
		if err != nil {
			return err
		}
		if err := b.setActive(ctx, mgr, id); err != nil {
			return err
		}
		msgID, err := b.send(ctx, chat, id, fmt.Sprintf("▶️ Active lead: %s. Plain messages now go to this customer.", header(c, id)), convButtons(id))
		if err != nil {
			b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
		}
		_ = msgID
	default:
		b.say(ctx, chat, help)
	}
	return nil
}

func statusText(v *router.ManagerView, active int64) string {
	var sb strings.Builder
	state := "⚪ offline"
	if v.Online {
		state = "🟢 online"
	}
	fmt.Fprintf(&sb, "%s: %s", v.Name, state)
	if !v.OnShift {
		sb.WriteString(" (off shift)")
	}
	fmt.Fprintf(&sb, "\nLoad: %d of %d\nWaiting in the queue: %d", v.Load, v.Capacity, v.QueueLength)
	if active != 0 {
		fmt.Fprintf(&sb, "\nActive lead: #%d", active)
	}
	fmt.Fprintf(&sb, "\nOffers: %d · Open leads: %d (/list)", len(v.Offers), len(v.Conversations))
	return sb.String()
}

func listText(v *router.ManagerView, active int64) string {
	if len(v.Offers) == 0 && len(v.Conversations) == 0 {
		return fmt.Sprintf("You have no offers or open leads. Queue: %d.", v.QueueLength)
	}
	var sb strings.Builder
	for _, c := range v.Offers {
		fmt.Fprintf(&sb, "🆕 #%d · %s · %s (offer: tap Take)\n", c.ID, c.Channel, customerName(&c))
	}
	for _, c := range v.Conversations {
		mark := ""
		if c.ID == active {
			mark = " ◀ active"
		}
		q := ""
		if c.Qualification != "" {
			q = " · " + c.Qualification
		}
		fmt.Fprintf(&sb, "💬 #%d · %s · %s%s%s  → /c %d\n", c.ID, c.Channel, customerName(&c), q, mark, c.ID)
	}
	fmt.Fprintf(&sb, "Queue: %d", v.QueueLength)
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
		b.answer(ctx, q, refusal)
		return nil
	}
	parts := strings.Split(q.Data, ":")
	var convID, seq int64
	if len(parts) >= 2 {
		convID, _ = strconv.ParseInt(parts[1], 10, 64)
	}
	if len(parts) >= 3 {
		seq, _ = strconv.ParseInt(parts[2], 10, 64)
	}
	if convID <= 0 {
		b.answer(ctx, q, "Unknown button.")
		return nil
	}
	switch parts[0] {
	case "t", "p":
		c, err := b.d.Desk.Conversation(ctx, convID)
		if err != nil && !errors.Is(err, router.ErrNotFound) {
			return err
		}
		if c == nil || c.State != router.StateOffered || c.OfferTo != mgr || c.OfferSeq != seq {
			b.answer(ctx, q, fmt.Sprintf("This offer of lead #%d is no longer valid.", convID))
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
			b.answer(ctx, q, fmt.Sprintf("✅ Lead #%d is yours. Write your answer.", convID))
		case err == nil:
			b.answer(ctx, q, fmt.Sprintf("Passed lead #%d.", convID))
		case errors.Is(err, router.ErrNotYours), errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrConflict):
			b.answer(ctx, q, fmt.Sprintf("This offer of lead #%d is no longer valid.", convID))
			b.dropButtons(ctx, q)
		default:
			b.answer(ctx, q, "Something went wrong, please try again.")
			return err
		}
	case "q", "x":
		var err error
		done := ""
		if parts[0] == "x" {
			err, done = b.d.Desk.Close(ctx, convID, mgr), fmt.Sprintf("Lead #%d closed.", convID)
		} else {
			level := ""
			if len(parts) == 3 {
				level = map[string]string{"h": router.QualHot, "w": router.QualWarm, "t": router.QualTourist}[parts[2]]
			}
			if level == "" {
				b.answer(ctx, q, "Unknown button.")
				return nil
			}
			err = b.d.Desk.Qualify(ctx, convID, mgr, level)
			done = fmt.Sprintf("Lead #%d marked %s.", convID, level)
			if level == router.QualTourist {
				done += " The polite closing message is sent and the lead is closed."
			}
		}
		switch {
		case err == nil:
			b.answer(ctx, q, done)
		case errors.Is(err, router.ErrNotYours), errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalid):
			b.answer(ctx, q, fmt.Sprintf("Lead #%d is not one of your open leads.", convID))
		default:
			b.answer(ctx, q, "Something went wrong, please try again.")
			return err
		}
	default:
		b.answer(ctx, q, "Unknown button.")
	}
	return nil
}
