// Package staffbot is the lead-managers' Telegram bot: a client of router.Desk (what managers
// can do), not a customer channel. It implements router.Notifier (offers
// with Take / Pass buttons, customer messages forwarded after Take, escalations and send
// failures) and drives router.Desk from what managers type and tap (/online, /offline,
// /status, /list, /c N, replies, qualification buttons).
//
// Only Telegram users that Desk.ManagerByTelegramID knows are served; anyone else gets a
// polite refusal and nothing about leads. Events arrive at least once: every notification is
// remembered in Redis (per event and target; offers per conversation, offer seq and manager)
// so a repeat sends nothing twice.
package staffbot

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// Config is what the staff bot needs from the gateway's configuration.
type Config struct {
	// SupervisorsChatID is router.escalation.telegram_chat_id: escalations and send failures
	// are posted there (0 = nowhere).
	SupervisorsChatID int64
	// EscalationManagers is router.escalation.managers: they also receive escalations.
	EscalationManagers []string
	// Managers are the configured managers (for their Telegram ids and names).
	Managers []router.Manager
	// SharedAccounts are the customer bots using the staff bot's token: media of their
	// customers and of managers can be relayed by file_id between them.
	SharedAccounts []string
	// OfferLines is how many of the customer's first messages an offer shows (default 3).
	OfferLines int
}

// Deps are the staff bot's collaborators.
type Deps struct {
	Client *telegram.Client // the staff bot token's client (telegram.Channel.StaffClient)
	Desk   router.Desk
	Redis  redis.UniversalClient
	Keys   store.Keys
	Clock  clock.Clock
	Log    *slog.Logger
}

// Bot is the staff bot.
type Bot struct {
	cfg    Config
	d      Deps
	tgByID map[string]int64
	names  map[string]string
}

var (
	_ router.Notifier       = (*Bot)(nil)
	_ telegram.StaffHandler = (*Bot)(nil)
)

// keyTTL bounds how long message mappings and dedupe markers are kept.
const keyTTL = 30 * 24 * time.Hour

// New returns the staff bot.
func New(cfg Config, d Deps) (*Bot, error) {
	if d.Client == nil || d.Desk == nil || d.Redis == nil {
		return nil, errors.New("staffbot: client, desk and redis are required")
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OfferLines <= 0 {
		cfg.OfferLines = 3
	}
	b := &Bot{cfg: cfg, d: d, tgByID: map[string]int64{}, names: map[string]string{}}
	for _, m := range cfg.Managers {
		if m.TelegramID != 0 {
			b.tgByID[m.ID] = m.TelegramID
		}
		b.names[m.ID] = cmpOr(m.Name, m.ID)
	}
	return b, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// key builds a staff-bot key in Redis.
func (b *Bot) key(parts ...string) string {
	return b.d.Keys.Channel(channels.Telegram, telegram.StaffName, strings.Join(parts, ":"))
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// ---- Redis state -------------------------------------------------------------------------

// onceLease is how long an attempt holds a marker before it is considered crashed.
const onceLease = time.Minute

// errInProgress: another attempt holds the marker (or crashed holding it); the event or
// update stays pending and is retried, and runs once the crashed attempt's lease lapses.
var errInProgress = errors.New("staffbot: the same notification is being sent by another attempt")

// once runs fn unless it already ran. The marker is "pending" (with a short lease) while fn
// runs and "1" once it succeeded, so a process that dies between the two leaves a marker
// that lapses and the redelivered event is sent then: at least once, never silently lost. A
// failed fn clears the marker so it is retried at once.
func (b *Bot) once(ctx context.Context, marker string, fn func() error) error {
	ok, err := b.d.Redis.SetNX(ctx, marker, "pending", onceLease).Result()
	if err != nil {
		return err
	}
	if !ok {
		v, err := b.d.Redis.Get(ctx, marker).Result()
		switch {
		case err == nil && v != "pending":
			return nil // done before
		case err != nil && !errors.Is(err, redis.Nil):
			return err
		}
		return errInProgress
	}
	if err := fn(); err != nil {
		_ = b.d.Redis.Del(context.WithoutCancel(ctx), marker).Err()
		return err
	}
	return b.d.Redis.Set(context.WithoutCancel(ctx), marker, "1", keyTTL).Err()
}

// remember maps a message in a manager's chat to a conversation (for replies).
func (b *Bot) remember(ctx context.Context, chatID int64, msgID int, convID int64) {
	if err := b.d.Redis.Set(ctx, b.key("msg", i64(chatID), strconv.Itoa(msgID)), convID, keyTTL).Err(); err != nil {
		b.d.Log.Warn("staffbot: could not remember a message", "err", err)
	}
}

func (b *Bot) convOfMessage(ctx context.Context, chatID int64, msgID int) (int64, error) {
	id, err := b.d.Redis.Get(ctx, b.key("msg", i64(chatID), strconv.Itoa(msgID))).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return id, err
}

func (b *Bot) setActive(ctx context.Context, mgr string, convID int64) error {
	return b.d.Redis.Set(ctx, b.key("active", mgr), convID, keyTTL).Err()
}

func (b *Bot) active(ctx context.Context, mgr string) (int64, error) {
	id, err := b.d.Redis.Get(ctx, b.key("active", mgr)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return id, err
}

//go:embed clear_active.lua
var clearActiveLua string

// clearActiveScript: see clear_active.lua.
var clearActiveScript = redis.NewScript(clearActiveLua)

// clearActiveArgs are clear_active.lua's ARGV, in order.
type clearActiveArgs struct {
	ConvID int64 // ARGV[1]
}

// runClearActive runs clear_active.lua: true if the key was deleted.
func runClearActive(ctx context.Context, rdb redis.Scripter, key string, a clearActiveArgs) (bool, error) {
	n, err := clearActiveScript.Run(ctx, rdb, []string{key}, i64(a.ConvID)).Int()
	return n == 1, err
}

// clearActive forgets the manager's active conversation if it is convID.
func (b *Bot) clearActive(ctx context.Context, mgr string, convID int64) {
	_, _ = runClearActive(ctx, b.d.Redis, b.key("active", mgr), clearActiveArgs{ConvID: convID})
}

// offerKey holds "<chat>:<message>" of the offer message of (conversation, seq, manager).
func (b *Bot) offerKey(convID, seq int64, mgr string) string {
	return b.key("offer", i64(convID), i64(seq), mgr)
}

func (b *Bot) offerMessage(ctx context.Context, convID, seq int64, mgr string) (chatID int64, msgID int, ok bool) {
	v, err := b.d.Redis.Get(ctx, b.offerKey(convID, seq, mgr)).Result()
	if err != nil {
		return 0, 0, false
	}
	c, m, found := strings.Cut(v, ":")
	if !found {
		return 0, 0, false
	}
	chatID, _ = strconv.ParseInt(c, 10, 64)
	msgID, _ = strconv.Atoi(m)
	return chatID, msgID, chatID != 0 && msgID != 0
}

// ---- sending -----------------------------------------------------------------------------

// send posts text (with optional buttons) to chatID and maps the message to convID (if > 0).
func (b *Bot) send(ctx context.Context, chatID int64, convID int64, text string, markup *tgbotapi.InlineKeyboardMarkup) (int, error) {
	msg := tgbotapi.NewMessage(chatID, text)
	msg.DisableWebPagePreview = true
	if markup != nil {
		msg.ReplyMarkup = *markup
	}
	sent, err := b.d.Client.Send(ctx, chatID, msg)
	if err != nil {
		return 0, err
	}
	if convID > 0 {
		b.remember(ctx, chatID, sent.MessageID, convID)
	}
	return sent.MessageID, nil
}

// edit replaces a message's text and buttons (nil markup removes them). "message is not
// modified" (a repeat) counts as done.
func (b *Bot) edit(ctx context.Context, chatID int64, msgID int, text string, markup *tgbotapi.InlineKeyboardMarkup) error {
	e := tgbotapi.NewEditMessageText(chatID, msgID, text)
	e.ReplyMarkup = markup
	e.DisableWebPagePreview = true
	_, err := b.d.Client.Request(ctx, e)
	if ae := telegram.APIError(err); ae != nil && strings.Contains(ae.Message, "message is not modified") {
		return nil
	}
	return err
}

// deliverable turns Telegram errors that retrying cannot fix (the manager blocked the staff
// bot, a wrong chat id) into nil after logging, so the event is not redelivered forever.
func (b *Bot) deliverable(err error, what string, chatID int64) error {
	if err == nil {
		return nil
	}
	if ae := telegram.APIError(err); ae != nil && ae.Code >= 400 && ae.Code < 500 && ae.Code != 429 {
		b.d.Log.Warn("staffbot: message could not be delivered", "what", what, "chat", chatID, "code", ae.Code, "err", ae.Message)
		return nil
	}
	return err
}

func offerButtons(convID, seq int64) *tgbotapi.InlineKeyboardMarkup {
	k := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData("✅ Take", "t:"+i64(convID)+":"+i64(seq)),
		tgbotapi.NewInlineKeyboardButtonData("↪️ Pass", "p:"+i64(convID)+":"+i64(seq)),
	))
	return &k
}

func convButtons(convID int64) *tgbotapi.InlineKeyboardMarkup {
	c := i64(convID)
	k := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData("🔥 Hot", "q:"+c+":h"),
		tgbotapi.NewInlineKeyboardButtonData("Warm", "q:"+c+":w"),
		tgbotapi.NewInlineKeyboardButtonData("Tourist", "q:"+c+":t"),
		tgbotapi.NewInlineKeyboardButtonData("Close", "x:"+c),
	))
	return &k
}

// ---- texts -------------------------------------------------------------------------------

func customerName(c *router.Conversation) string {
	if c == nil {
		return "customer"
	}
	return cmpOr(c.Name, "customer "+c.ContactID)
}

func header(c *router.Conversation, id int64) string {
	if c == nil {
		return "#" + i64(id)
	}
	return fmt.Sprintf("#%d · %s · %s", c.ID, c.Channel, customerName(c))
}

func waited(now, since time.Time) string {
	if since.IsZero() {
		return ""
	}
	d := now.Sub(since).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String()
}

func attachmentNote(atts []channels.Attachment) string {
	var parts []string
	for _, a := range atts {
		s := "[" + a.Kind
		if a.Name != "" {
			s += ": " + a.Name
		}
		parts = append(parts, s+"]")
	}
	return strings.Join(parts, " ")
}

func lineText(m router.Message) string {
	if m.Deleted {
		return "(deleted by the customer)"
	}
	t := strings.TrimSpace(m.Text)
	if n := attachmentNote(m.Attachments); n != "" {
		t = strings.TrimSpace(t + " " + n)
	}
	if m.Edited {
		t = strings.TrimSpace(t + " (edited)")
	}
	return t
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func (b *Bot) offerText(ctx context.Context, c *router.Conversation) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "🆕 New lead #%d · %s\n%s", c.ID, c.Channel, customerName(c))
	if c.Phone != "" {
		sb.WriteString(" · " + c.Phone)
	}
	sb.WriteString("\n")
	if c.Source != "" {
		sb.WriteString("Source: " + c.Source + "\n")
	}
	if len(c.Tags) > 0 {
		sb.WriteString("Tags: " + strings.Join(c.Tags, ", ") + "\n")
	}
	if w := waited(b.d.Clock.Now(), c.FirstInboundAt); w != "" {
		sb.WriteString("Waiting: " + w + "\n")
	}
	if c.Offers > 1 {
		fmt.Fprintf(&sb, "Offer %d (others did not take it)\n", c.Offers)
	}
	if msgs, err := b.d.Desk.Transcript(ctx, c.ID, 20); err == nil {
		n := 0
		for _, m := range msgs {
			if m.Dir != "in" || n == b.cfg.OfferLines {
				continue
			}
			if t := lineText(m); t != "" {
				sb.WriteString("\n» " + truncate(t, 500))
				n++
			}
		}
	}
	return strings.TrimSpace(sb.String())
}

// ---- Notifier ----------------------------------------------------------------------------

// Notify handles one router event. It is safe to call again with the same event.
func (b *Bot) Notify(ctx context.Context, ev router.Event) error {
	switch ev.Type {
	case router.EventOffer:
		return b.notifyOffer(ctx, ev)
	case router.EventOfferWithdrawn:
		return b.notifyWithdrawn(ctx, ev)
	case router.EventAssigned:
		return b.notifyAssigned(ctx, ev)
	case router.EventReleased:
		return b.notifyReleased(ctx, ev)
	case router.EventCustomerMessage:
		return b.notifyCustomerMessage(ctx, ev)
	case router.EventEscalation:
		return b.notifyEscalation(ctx, ev)
	case router.EventSendFailure:
		return b.notifySendFailure(ctx, ev)
	case router.EventClosed:
		return b.notifyClosed(ctx, ev)
	}
	return nil
}

func (b *Bot) notifyOffer(ctx context.Context, ev router.Event) error {
	chat := b.tgByID[ev.ManagerID]
	c := ev.Conversation
	if chat == 0 || c == nil {
		return nil
	}
	// the offer is already over (a late or repeated event): nothing to show
	if c.State != router.StateOffered || c.OfferTo != ev.ManagerID || c.OfferSeq != ev.OfferSeq {
		return nil
	}
	key := b.offerKey(ev.ConversationID, ev.OfferSeq, ev.ManagerID)
	ok, err := b.d.Redis.SetNX(ctx, key, "pending", keyTTL).Result()
	if err != nil || !ok {
		return err // a repeat: the offer message exists (or is being sent)
	}
	msgID, err := b.send(ctx, chat, c.ID, b.offerText(ctx, c), offerButtons(c.ID, ev.OfferSeq))
	if err != nil {
		_ = b.d.Redis.Del(context.WithoutCancel(ctx), key).Err()
		return b.deliverable(err, "offer", chat)
	}
	return b.d.Redis.Set(ctx, key, i64(chat)+":"+strconv.Itoa(msgID), keyTTL).Err()
}

func (b *Bot) notifyWithdrawn(ctx context.Context, ev router.Event) error {
	chat, msgID, ok := b.offerMessage(ctx, ev.ConversationID, ev.OfferSeq, ev.ManagerID)
	if !ok {
		return nil
	}
	var text string
	switch ev.Reason {
	case "lapsed":
		text = fmt.Sprintf("⌛ Lead #%d: the offer lapsed and went to the next manager.", ev.ConversationID)
	case "passed":
		text = fmt.Sprintf("↪️ You passed lead #%d.", ev.ConversationID)
	case "offline":
		text = fmt.Sprintf("Lead #%d went back to the queue: you are offline.", ev.ConversationID)
	case "taken":
		text = fmt.Sprintf("Lead #%d was taken by someone else.", ev.ConversationID)
	default:
		text = fmt.Sprintf("The offer of lead #%d is no longer valid.", ev.ConversationID)
	}
	return b.deliverable(b.edit(ctx, chat, msgID, text, nil), "withdrawn", chat)
}

func (b *Bot) notifyAssigned(ctx context.Context, ev router.Event) error {
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	if err := b.setActive(ctx, ev.ManagerID, ev.ConversationID); err != nil {
		return err
	}
	c := ev.Conversation
	text := fmt.Sprintf("✅ You took lead %s.\nReply to this message (or just write here) to answer the customer. /c %d makes it active again later.",
		header(c, ev.ConversationID), ev.ConversationID)
	if c != nil && c.Phone != "" {
		text += "\nPhone: " + c.Phone
	}
	if oc, msgID, ok := b.offerMessage(ctx, ev.ConversationID, ev.OfferSeq, ev.ManagerID); ok {
		return b.deliverable(b.edit(ctx, oc, msgID, text, convButtons(ev.ConversationID)), "assigned", oc)
	}
	// taken through the HTTP API (or the offer message was lost): a fresh message
	return b.once(ctx, b.key("done", ev.ID, "assigned"), func() error {
		_, err := b.send(ctx, chat, ev.ConversationID, text, convButtons(ev.ConversationID))
		return b.deliverable(err, "assigned", chat)
	})
}

func (b *Bot) notifyReleased(ctx context.Context, ev router.Event) error {
	b.clearActive(ctx, ev.ManagerID, ev.ConversationID)
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	why := "you went offline"
	if ev.Reason == "no_reply" {
		why = "no first reply in time"
	}
	text := fmt.Sprintf("⚠️ Lead #%d was taken back from you (%s) and offered to someone else.", ev.ConversationID, why)
	return b.once(ctx, b.key("done", ev.ID, "released"), func() error {
		_, err := b.send(ctx, chat, 0, text, nil)
		return b.deliverable(err, "released", chat)
	})
}

func (b *Bot) relayable(c *router.Conversation) bool {
	return c != nil && c.Channel == channels.Telegram && slices.Contains(b.cfg.SharedAccounts, c.Account)
}

func (b *Bot) notifyCustomerMessage(ctx context.Context, ev router.Event) error {
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 || ev.Message == nil {
		return nil
	}
	c := ev.Conversation
	if c != nil && (c.State != router.StateAssigned || c.ManagerID != ev.ManagerID) {
		return nil // no longer theirs: the next manager sees the transcript in the offer
	}
	m := ev.Message
	head := "💬 " + header(c, ev.ConversationID)
	if ev.Reason == channels.KindEdit || m.Kind == channels.KindEdit {
		head += " (edited)"
	}
	return b.once(ctx, b.key("done", ev.ID, "fwd"), func() error {
		atts := m.Attachments
		text := strings.TrimSpace(m.Text)
		if !b.relayable(c) {
			if n := attachmentNote(atts); n != "" {
				text = strings.TrimSpace(text + "\n" + n)
			}
			atts = nil
		}
		if len(atts) == 0 || text != "" {
			if _, err := b.send(ctx, chat, ev.ConversationID, head+"\n"+text, nil); err != nil {
				return b.deliverable(err, "customer message", chat)
			}
		}
		for _, a := range atts {
			if a.Ref == "" || a.Kind == "contact" || a.Kind == "location" {
				continue
			}
			var cfg tgbotapi.Chattable
			switch a.Kind {
			case "image":
				p := tgbotapi.NewPhoto(chat, tgbotapi.FileID(a.Ref))
				p.Caption = head
				cfg = p
			default:
				d := tgbotapi.NewDocument(chat, tgbotapi.FileID(a.Ref))
				d.Caption = head
				cfg = d
			}
			sent, err := b.d.Client.Send(ctx, chat, cfg)
			if err != nil {
				return b.deliverable(err, "customer attachment", chat)
			}
			b.remember(ctx, chat, sent.MessageID, ev.ConversationID)
		}
		return nil
	})
}

// supervisors returns the chats that receive escalations: the supervisors' chat and the
// escalation managers on Telegram.
func (b *Bot) supervisors() []int64 {
	var out []int64
	if b.cfg.SupervisorsChatID != 0 {
		out = append(out, b.cfg.SupervisorsChatID)
	}
	for _, id := range b.cfg.EscalationManagers {
		if t := b.tgByID[id]; t != 0 && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// broadcast sends text once per event to every target.
func (b *Bot) broadcast(ctx context.Context, ev router.Event, targets []int64, convID int64, text string) error {
	var errs []error
	for _, chat := range targets {
		err := b.once(ctx, b.key("done", ev.ID, i64(chat)), func() error {
			_, err := b.send(ctx, chat, convID, text, nil)
			return b.deliverable(err, ev.Type, chat)
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (b *Bot) notifyEscalation(ctx context.Context, ev router.Event) error {
	var text string
	switch {
	case ev.ConversationID == 0:
		text = "🚨 Channel alert: " + strings.TrimPrefix(ev.Reason, "channel: ")
	case strings.HasPrefix(ev.Reason, "max_offers"):
		c := ev.Conversation
		text = fmt.Sprintf("🚨 Escalation: lead %s was offered %d times and nobody has answered yet.", header(c, ev.ConversationID), offers(c))
		if c != nil {
			if w := waited(b.d.Clock.Now(), c.FirstInboundAt); w != "" {
				text += " The customer has been waiting " + w + "."
			}
		}
	case strings.HasPrefix(ev.Reason, "send_failure"):
		text = fmt.Sprintf("🚨 An automatic message to lead %s could not be delivered: %s",
			header(ev.Conversation, ev.ConversationID), strings.TrimPrefix(strings.TrimPrefix(ev.Reason, "send_failure"), ": "))
	default:
		text = fmt.Sprintf("🚨 Escalation for lead %s: %s", header(ev.Conversation, ev.ConversationID), ev.Reason)
	}
	targets := b.supervisors()
	if t := b.tgByID[ev.ManagerID]; t != 0 && !slices.Contains(targets, t) {
		targets = append(targets, t)
	}
	return b.broadcast(ctx, ev, targets, ev.ConversationID, text)
}

func offers(c *router.Conversation) int {
	if c == nil {
		return 0
	}
	return c.Offers
}

func (b *Bot) notifySendFailure(ctx context.Context, ev router.Event) error {
	reason := ev.Reason
	if ev.Message != nil && ev.Message.Text != "" {
		reason = ev.Message.Text
	}
	var errs []error
	if chat := b.tgByID[ev.ManagerID]; chat != 0 {
		text := fmt.Sprintf("⚠️ Your message to lead %s was not delivered: %s", header(ev.Conversation, ev.ConversationID), reason)
		errs = append(errs, b.broadcast(ctx, ev, []int64{chat}, ev.ConversationID, text))
	}
	var sup []int64
	for _, t := range b.supervisors() {
		if t != b.tgByID[ev.ManagerID] {
			sup = append(sup, t)
		}
	}
	text := fmt.Sprintf("⚠️ A reply by %s to lead %s was not delivered: %s", b.names[ev.ManagerID], header(ev.Conversation, ev.ConversationID), reason)
	errs = append(errs, b.broadcast(ctx, ev, sup, 0, text))
	return errors.Join(errs...)
}

func (b *Bot) notifyClosed(ctx context.Context, ev router.Event) error {
	b.clearActive(ctx, ev.ManagerID, ev.ConversationID)
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	text := fmt.Sprintf("🔒 Lead %s is closed.", header(ev.Conversation, ev.ConversationID))
	if c := ev.Conversation; c != nil && c.Qualification != "" {
		text += " Qualified: " + c.Qualification + "."
	}
	return b.once(ctx, b.key("done", ev.ID, "closed"), func() error {
		_, err := b.send(ctx, chat, 0, text, nil)
		return b.deliverable(err, "closed", chat)
	})
}
