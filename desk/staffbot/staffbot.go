// Package staffbot is the lead-managers' Telegram bot: a client of router.Desk (what managers
// can do), not a customer channel. It implements router.Notifier (offers
// with Take / Pass buttons, customer messages forwarded after Take, escalations and send
// failures) and drives router.Desk from what managers type and tap (/online, /offline,
// /status, /list, /c N, /h N, /edit N, replies, qualification buttons). Sales managers use it
// too (sales.go): the sales lead card with Accept / Reject / Contacted / Won / Lost, and the
// lead-manager's handoff with a note.
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
	"github.com/lidorub/lidorub/locale"
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
	// Sales is the sales: section (handing-off levels, reasons, currency); defaults filled.
	// The sales flow is on when Managers has a manager with role sales.
	Sales router.SalesConfig
}

// Deps are the staff bot's collaborators.
type Deps struct {
	Client *telegram.Client // the staff bot token's client (telegram.Channel.StaffClient)
	Desk   router.Desk
	Redis  redis.UniversalClient
	Keys   store.Keys
	Clock  clock.Clock
	Log    *slog.Logger
	// Locale is the message catalogue; nil = the built-in one with English as the default.
	Locale *locale.Catalogue
}

// Bot is the staff bot.
type Bot struct {
	cfg     Config
	d       Deps
	cat     *locale.Catalogue
	tgByID  map[string]int64
	names   map[string]string
	mgrLang map[string]string         // manager id → language of their texts
	tgLang  map[int64]string          // a manager's chat → their language
	tz      map[string]*time.Location // manager id → time zone of their first shift
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
	cfg.Sales.Defaults()
	if d.Locale == nil {
		cat, err := locale.New(locale.EN, nil)
		if err != nil {
			return nil, err
		}
		d.Locale = cat
	}
	b := &Bot{cfg: cfg, d: d, cat: d.Locale, tgByID: map[string]int64{}, names: map[string]string{},
		mgrLang: map[string]string{}, tgLang: map[int64]string{}, tz: map[string]*time.Location{}}
	for _, m := range cfg.Managers {
		lang := b.cat.Lang(m.Locale)
		b.mgrLang[m.ID] = lang
		if m.TelegramID != 0 {
			b.tgByID[m.ID] = m.TelegramID
			b.tgLang[m.TelegramID] = lang
		}
		b.names[m.ID] = cmpOr(m.Name, m.ID)
		b.tz[m.ID] = time.UTC
		if len(m.Shifts) > 0 && m.Shifts[0].TimeZone != "" {
			if loc, err := time.LoadLocation(m.Shifts[0].TimeZone); err == nil {
				b.tz[m.ID] = loc
			}
		}
	}
	return b, nil
}

func (b *Bot) tzOf(mgr string) *time.Location {
	if loc := b.tz[mgr]; loc != nil {
		return loc
	}
	return time.UTC
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
	return b.sendReply(ctx, chatID, convID, text, markup, 0)
}

// sendReply is send as an answer to message replyTo (0: none; a deleted one is ignored).
func (b *Bot) sendReply(ctx context.Context, chatID int64, convID int64, text string, markup *tgbotapi.InlineKeyboardMarkup, replyTo int) (int, error) {
	msg := tgbotapi.NewMessage(chatID, text)
	msg.DisableWebPagePreview = true
	if replyTo != 0 {
		msg.ReplyToMessageID = replyTo
		msg.AllowSendingWithoutReply = true
	}
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

func (b *Bot) offerButtons(lang string, convID, seq int64) *tgbotapi.InlineKeyboardMarkup {
	k := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.take"), "t:"+i64(convID)+":"+i64(seq)),
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.pass"), "p:"+i64(convID)+":"+i64(seq)),
	))
	return &k
}

func (b *Bot) convButtons(lang string, convID int64) *tgbotapi.InlineKeyboardMarkup {
	c := i64(convID)
	k := tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.hot"), "q:"+c+":h"),
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.warm"), "q:"+c+":w"),
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.tourist"), "q:"+c+":t"),
		),
		tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.history"), "h:"+c),
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.button.close"), "x:"+c),
		),
	)
	return &k
}

// ---- lead cards --------------------------------------------------------------------------

// A card is a message with a lead's buttons (the taken offer, /c): when the lead is taken
// back or closed, its buttons are removed so nobody taps a stale one.

func (b *Bot) cardKey(convID int64, mgr string) string { return b.key("card", i64(convID), mgr) }

func (b *Bot) addCard(ctx context.Context, convID int64, mgr string, chat int64, msgID int) {
	k := b.cardKey(convID, mgr)
	pipe := b.d.Redis.TxPipeline()
	pipe.SAdd(ctx, k, i64(chat)+":"+strconv.Itoa(msgID))
	pipe.Expire(ctx, k, keyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		b.d.Log.Warn("staffbot: could not remember a lead card", "err", err)
	}
}

type msgRef struct {
	chat int64
	msg  int
}

func (b *Bot) cards(ctx context.Context, convID int64, mgr string) ([]msgRef, error) {
	vs, err := b.d.Redis.SMembers(ctx, b.cardKey(convID, mgr)).Result()
	if err != nil {
		return nil, err
	}
	var out []msgRef
	for _, v := range vs {
		c, m, ok := strings.Cut(v, ":")
		chat, _ := strconv.ParseInt(c, 10, 64)
		msg, _ := strconv.Atoi(m)
		if ok && chat != 0 && msg != 0 {
			out = append(out, msgRef{chat, msg})
		}
	}
	slices.SortFunc(out, func(a, b msgRef) int { return a.msg - b.msg })
	return out, nil
}

// retireCards edits the manager's cards of a lead: to text (and no buttons), or with text ""
// only the buttons are removed. It returns the newest card (to answer), if any.
func (b *Bot) retireCards(ctx context.Context, convID int64, mgr, text string) (msgRef, error) {
	cs, err := b.cards(ctx, convID, mgr)
	if err != nil || len(cs) == 0 {
		return msgRef{}, err
	}
	for _, c := range cs {
		var err error
		if text != "" {
			err = b.edit(ctx, c.chat, c.msg, text, nil)
		} else {
			e := tgbotapi.NewEditMessageReplyMarkup(c.chat, c.msg, tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}})
			_, err = b.d.Client.Request(ctx, e)
			if ae := telegram.APIError(err); ae != nil && strings.Contains(ae.Message, "message is not modified") {
				err = nil
			}
		}
		if err := b.deliverable(err, "card", c.chat); err != nil {
			return msgRef{}, err
		}
	}
	if err := b.d.Redis.Del(ctx, b.cardKey(convID, mgr)).Err(); err != nil {
		return msgRef{}, err
	}
	return cs[len(cs)-1], nil
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
	case router.EventSalesOffer:
		return b.notifySalesOffer(ctx, ev)
	case router.EventSalesAccepted:
		return b.notifySalesAccepted(ctx, ev)
	case router.EventSalesOfferWithdrawn:
		return b.notifySalesWithdrawn(ctx, ev)
	case router.EventSalesReturned:
		return b.notifySalesReturned(ctx, ev)
	}
	return nil
}

// offeredBefore records who was offered a lead at seq and reports whether the offer before
// it went to the same manager (a re-offer because nobody else was free).
func (b *Bot) offeredBefore(ctx context.Context, convID, seq int64, mgr string) (bool, error) {
	k := b.key("offered", i64(convID))
	pipe := b.d.Redis.TxPipeline()
	pipe.HSet(ctx, k, i64(seq), mgr)
	pipe.Expire(ctx, k, keyTTL)
	all := pipe.HGetAll(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, err
	}
	var prevSeq int64
	prev := ""
	for f, m := range all.Val() {
		n, _ := strconv.ParseInt(f, 10, 64)
		if n < seq && n > prevSeq {
			prevSeq, prev = n, m
		}
	}
	return prev == mgr, nil
}

func (b *Bot) notifyOffer(ctx context.Context, ev router.Event) error {
	c := ev.Conversation
	if c == nil {
		return nil
	}
	// the offer is already over (a late or repeated event): nothing to show
	if c.State != router.StateOffered || c.OfferTo != ev.ManagerID || c.OfferSeq != ev.OfferSeq {
		return nil
	}
	same, err := b.offeredBefore(ctx, ev.ConversationID, ev.OfferSeq, ev.ManagerID)
	if err != nil {
		return err
	}
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	key := b.offerKey(ev.ConversationID, ev.OfferSeq, ev.ManagerID)
	ok, err := b.d.Redis.SetNX(ctx, key, "pending", keyTTL).Result()
	if err != nil || !ok {
		return err // a repeat: the offer message exists (or is being sent)
	}
	lang := b.langOf(ev.ManagerID)
	msgID, err := b.send(ctx, chat, c.ID, b.offerText(ctx, lang, c, same), b.offerButtons(lang, c.ID, ev.OfferSeq))
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
	key := "staff.withdrawn.invalid"
	switch ev.Reason {
	case "lapsed", "passed", "offline", "taken":
		key = "staff.withdrawn." + ev.Reason
	}
	// lapsed, and already offered to the same manager again (nobody else was free): say so
	if c := ev.Conversation; ev.Reason == "lapsed" && c != nil && c.State == router.StateOffered &&
		c.OfferTo == ev.ManagerID && c.OfferSeq > ev.OfferSeq {
		key = "staff.withdrawn.lapsed_again"
	}
	text := b.t(b.langOf(ev.ManagerID), key, "id", ev.ConversationID)
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
	lang := b.langOf(ev.ManagerID)
	text := b.assignedText(ctx, lang, ev.Conversation, ev.ConversationID)
	buttons := b.convButtons(lang, ev.ConversationID)
	if oc, msgID, ok := b.offerMessage(ctx, ev.ConversationID, ev.OfferSeq, ev.ManagerID); ok {
		b.addCard(ctx, ev.ConversationID, ev.ManagerID, oc, msgID)
		return b.deliverable(b.edit(ctx, oc, msgID, text, buttons), "assigned", oc)
	}
	// taken through the HTTP API (or the offer message was lost): a fresh message
	return b.once(ctx, b.key("done", ev.ID, "assigned"), func() error {
		msgID, err := b.send(ctx, chat, ev.ConversationID, text, buttons)
		if err == nil {
			b.addCard(ctx, ev.ConversationID, ev.ManagerID, chat, msgID)
		}
		return b.deliverable(err, "assigned", chat)
	})
}

func (b *Bot) notifyReleased(ctx context.Context, ev router.Event) error {
	b.clearActive(ctx, ev.ManagerID, ev.ConversationID)
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	lang := b.langOf(ev.ManagerID)
	why := "offline"
	if ev.Reason == "no_reply" {
		why = "no_reply"
	}
	lead := b.header(lang, ev.Conversation, ev.ConversationID)
	card, err := b.retireCards(ctx, ev.ConversationID, ev.ManagerID, b.t(lang, "staff.stale."+why, "lead", lead))
	if err != nil {
		return err
	}
	text := b.t(lang, "staff.released."+why, "id", ev.ConversationID)
	return b.once(ctx, b.key("done", ev.ID, "released"), func() error {
		_, err := b.sendReply(ctx, chat, 0, text, nil, card.msg)
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
	if c != nil && (c.State != router.StateAssigned || c.Holder() != ev.ManagerID) {
		return nil // no longer theirs: the next manager sees the transcript in the offer
	}
	lang := b.langOf(ev.ManagerID)
	m := ev.Message
	headKey := "staff.fwd.header"
	if ev.Reason == channels.KindEdit || m.Kind == channels.KindEdit {
		headKey = "staff.fwd.header_edited"
	}
	head := b.t(lang, headKey, "lead", b.header(lang, c, ev.ConversationID))
	return b.once(ctx, b.key("done", ev.ID, "fwd"), func() error {
		atts := m.Attachments
		text := strings.TrimSpace(m.Text)
		if msg, ok := locale.Decode(m.Note); ok { // a line the channel wrote (a call, a removed reaction)
			text = b.cat.Render(lang, msg)
		}
		if !b.relayable(c) {
			if n := b.attachmentNote(lang, atts); n != "" {
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

// broadcast sends a text once per event to every target, each in the chat's language.
func (b *Bot) broadcast(ctx context.Context, ev router.Event, targets []int64, convID int64, text func(lang string) string) error {
	var errs []error
	for _, chat := range targets {
		err := b.once(ctx, b.key("done", ev.ID, i64(chat)), func() error {
			_, err := b.send(ctx, chat, convID, text(b.chatLang(chat)), nil)
			return b.deliverable(err, ev.Type, chat)
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (b *Bot) notifyEscalation(ctx context.Context, ev router.Event) error {
	var text func(lang string) string
	switch {
	case ev.ConversationID == 0:
		reason := strings.TrimPrefix(ev.Reason, "channel: ")
		text = func(lang string) string {
			return b.t(lang, "staff.alert.channel", "reason", b.alertText(lang, reason))
		}
	case strings.HasPrefix(ev.Reason, "max_offers"):
		c := ev.Conversation
		text = func(lang string) string {
			s := b.t(lang, "staff.escalation.max_offers", "lead", b.header(lang, c, ev.ConversationID), "n", offers(c))
			if c != nil {
				if w := b.waited(lang, c.FirstInboundAt); w != "" {
					s += " " + b.t(lang, "staff.escalation.waiting", "wait", w)
				}
			}
			return s
		}
	case strings.HasPrefix(ev.Reason, "send_failure"):
		reason := strings.TrimPrefix(strings.TrimPrefix(ev.Reason, "send_failure"), ": ")
		text = func(lang string) string {
			return b.t(lang, "staff.escalation.auto_not_delivered", "lead", b.header(lang, ev.Conversation, ev.ConversationID),
				"reason", b.reasonText(lang, reason))
		}
	default:
		text = func(lang string) string {
			return b.t(lang, "staff.escalation.generic", "lead", b.header(lang, ev.Conversation, ev.ConversationID),
				"reason", b.reasonText(lang, ev.Reason))
		}
	}
	targets := b.supervisors()
	if t := b.tgByID[ev.ManagerID]; t != 0 && !slices.Contains(targets, t) {
		targets = append(targets, t)
	}
	return b.broadcast(ctx, ev, targets, ev.ConversationID, text)
}

// alertText renders a channel alert "<channel>/<account>: <reason>" with the reason in
// the reader's language.
func (b *Bot) alertText(lang, s string) string {
	if src, reason, ok := strings.Cut(s, ": "); ok && !strings.Contains(src, " ") {
		if _, isMsg := locale.Decode(reason); isMsg {
			return src + ": " + b.reasonText(lang, reason)
		}
	}
	return b.reasonText(lang, s)
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
		errs = append(errs, b.broadcast(ctx, ev, []int64{chat}, ev.ConversationID, func(lang string) string {
			return b.t(lang, "staff.failure.yours", "lead", b.header(lang, ev.Conversation, ev.ConversationID), "reason", b.reasonText(lang, reason))
		}))
	}
	var sup []int64
	for _, t := range b.supervisors() {
		if t != b.tgByID[ev.ManagerID] {
			sup = append(sup, t)
		}
	}
	errs = append(errs, b.broadcast(ctx, ev, sup, 0, func(lang string) string {
		return b.t(lang, "staff.failure.colleague", "manager", b.names[ev.ManagerID], "lead", b.header(lang, ev.Conversation, ev.ConversationID),
			"reason", b.reasonText(lang, reason))
	}))
	return errors.Join(errs...)
}

func (b *Bot) notifyClosed(ctx context.Context, ev router.Event) error {
	b.clearActive(ctx, ev.ManagerID, ev.ConversationID)
	chat := b.tgByID[ev.ManagerID]
	if chat == 0 {
		return nil
	}
	lang := b.langOf(ev.ManagerID)
	lead := b.header(lang, ev.Conversation, ev.ConversationID)
	text := b.t(lang, "staff.closed", "lead", lead)
	if c := ev.Conversation; c != nil && c.Qualification != "" {
		text = b.t(lang, "staff.closed_qualified", "lead", lead, "qualification", b.t(lang, "qual."+c.Qualification))
	}
	// the cards keep the customer's words; only their buttons go
	card, err := b.retireCards(ctx, ev.ConversationID, ev.ManagerID, "")
	if err != nil {
		return err
	}
	return b.once(ctx, b.key("done", ev.ID, "closed"), func() error {
		_, err := b.sendReply(ctx, chat, 0, text, nil, card.msg)
		return b.deliverable(err, "closed", chat)
	})
}

// ---- command menu ------------------------------------------------------------------------

// commands are the staff bot's commands in menu order.
var commands = []string{"online", "offline", "status", "list", "c", "h", "edit", "help"}

// SetCommands sets the Telegram command menu of private chats: once without a language
// (everyone, in the default language) and once per supported language for the users whose
// Telegram app is in it.
func (b *Bot) SetCommands(ctx context.Context) error {
	set := func(lang, code string) error {
		cmds := make([]tgbotapi.BotCommand, len(commands))
		for i, c := range commands {
			cmds[i] = tgbotapi.BotCommand{Command: c, Description: b.t(lang, "staff.command."+c)}
		}
		scope := tgbotapi.NewBotCommandScopeAllPrivateChats()
		_, err := b.d.Client.Request(ctx, tgbotapi.SetMyCommandsConfig{Commands: cmds, Scope: &scope, LanguageCode: code})
		return err
	}
	errs := []error{set(b.cat.Default(), "")}
	for _, lang := range locale.Supported() {
		errs = append(errs, set(lang, lang))
	}
	return errors.Join(errs...)
}

// Run sets the command menu (retrying every minute while Telegram cannot be reached) and
// returns: the staff bot's work is driven by updates and events.
func (b *Bot) Run(ctx context.Context) error {
	for {
		err := b.SetCommands(ctx)
		if err == nil {
			return nil
		}
		b.d.Log.Warn("staffbot: command menu not set", "err", err)
		t := time.NewTimer(time.Minute)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
