package staffbot_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/desk/staffbot"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/metrics"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

const (
	tokenShop  = "111111:shop-secret-token-AAAA"
	tokenStaff = "333333:staff-secret-token-CCCC"
	anna       = int64(9001)
	boris      = int64(9002)
	sveta      = int64(9003)
	stranger   = int64(5555)
	customer   = int64(7001)
	supChat    = int64(-100999)
)

type world struct {
	t     *testing.T
	ctx   context.Context
	srv   *telegramtest.Server
	rdb   *redis.Client
	keys  store.Keys
	clk   *clock.Fake
	reg   *prometheus.Registry
	rt    *router.Router
	ch    *telegram.Channel
	bot   *staffbot.Bot
	staff string // token managers write to

	mu   sync.Mutex
	upd  map[string]int64
	msgN int
}

// newWorld wires the real router, the Telegram channel and the staff bot against a fake
// Bot API and real Redis. shared: the staff bot uses the customer bot's token.
func newWorld(t *testing.T, shared bool, opts ...func(*router.Config)) *world {
	t.Helper()
	return newWorldWith(t, shared, setup{}, opts...)
}

// setup is what a world may change beyond the router config.
type setup struct {
	locale     *locale.Catalogue // nil: the built-in English
	annaLocale string            // managers[anna].locale
	annaName   string            // default Anna
	sales      bool              // add the sales manager Sveta (role sales)
	svetaLang  string            // managers[sveta].locale
}

func newWorldWith(t *testing.T, shared bool, su setup, opts ...func(*router.Config)) *world {
	t.Helper()
	rdb, prefix := redistest.New(t)
	w := &world{t: t, ctx: context.Background(), srv: telegramtest.New(t), rdb: rdb, keys: store.NewKeys(prefix),
		clk: clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)), reg: prometheus.NewRegistry(),
		upd: map[string]int64{}, msgN: 100}
	log := slog.New(slog.DiscardHandler)
	managers := []router.Manager{
		{ID: "anna", Name: cmp.Or(su.annaName, "Anna"), TelegramID: anna, Capacity: 5, Locale: su.annaLocale},
		{ID: "boris", Name: "Boris", TelegramID: boris, Capacity: 5},
	}
	ids := []string{"anna", "boris"}
	if su.sales {
		managers = append(managers, router.Manager{ID: "sveta", Name: "Света", TelegramID: sveta, Capacity: 5,
			Role: router.RoleSales, Locale: su.svetaLang})
		ids = append(ids, "sveta")
	}
	rcfg := router.Config{OfferTimeout: 30 * time.Second, FirstResponse: 5 * time.Minute, MaxOffers: 3,
		Escalation: router.Escalation{TelegramChatID: supChat}}
	for _, o := range opts {
		o(&rcfg)
	}
	rt, err := router.New(rcfg, managers, router.Templates{}, router.Deps{
		Redis: rdb, Keys: w.keys, Clock: w.clk, Log: log, Metrics: metrics.New(w.reg, ids),
		Instance: "test", Sleep: func(context.Context, time.Duration) error { return nil }, Locale: su.locale,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.rt = rt
	w.staff = tokenStaff
	if shared {
		w.staff = tokenShop
	}
	cfg := telegram.Config{Enabled: true, APIURL: w.srv.URL, PerChatRate: 1000, PerChatBurst: 100,
		Bots: []telegram.BotConfig{{Name: "shop", Token: tokenShop}}, Staff: telegram.StaffConfig{Token: w.staff}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w.ch, err = telegram.New(cfg, channels.Deps{Ingester: store.NewIngest(rdb, w.keys, w.clk, nil), Redis: rdb, Keys: w.keys,
		Clock: w.clk, Log: log, Registerer: w.reg, Alerter: rt})
	if err != nil {
		t.Fatal(err)
	}
	var sharedAccts []string
	if s := w.ch.StaffSharedBot(); s != "" {
		sharedAccts = []string{s}
	}
	w.bot, err = staffbot.New(staffbot.Config{SupervisorsChatID: supChat, Managers: managers, SharedAccounts: sharedAccts,
		Sales: rt.SalesConfig()},
		staffbot.Deps{Client: w.ch.StaffClient(), Desk: rt, Redis: rdb, Keys: w.keys, Clock: w.clk, Log: log, Locale: su.locale})
	if err != nil {
		t.Fatal(err)
	}
	w.ch.SetStaffHandler(w.bot)
	for _, name := range []string{"shop", telegram.StaffName} {
		if p := w.ch.Poller(name); p != nil {
			p.SetTimeout(0) // PollOnce returns at once when nothing is queued
		}
	}
	rt.AddNotifier(w.bot)
	rt.RegisterSender("telegram", w.ch)
	return w
}

func (w *world) nextUpdate(token string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.upd[token]++
	return 800000 + w.upd[token]
}

// pushRaw queues an update with a fresh update_id.
func (w *world) pushRaw(token string, body map[string]any) {
	body["update_id"] = w.nextUpdate(token)
	b, _ := json.Marshal(body)
	w.srv.PushUpdate(token, b)
}

// pushFixture queues a testdata update with a fresh update_id.
func (w *world) pushFixture(token, name string) {
	b, err := os.ReadFile(filepath.Join("..", "..", "channels", "telegram", "testdata", name))
	if err != nil {
		w.t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		w.t.Fatal(err)
	}
	w.pushRaw(token, body)
}

// managerSays queues a private message from a Telegram user to the staff bot.
func (w *world) managerSays(from int64, text string, replyTo int) {
	w.mu.Lock()
	w.msgN++
	id := w.msgN
	w.mu.Unlock()
	msg := map[string]any{"message_id": id, "date": 1772445600, "text": text,
		"from": map[string]any{"id": from, "is_bot": false, "first_name": "M"},
		"chat": map[string]any{"id": from, "type": "private"}}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg["entities"] = []map[string]any{{"type": "bot_command", "offset": 0, "length": len(cmd)}}
	}
	if replyTo != 0 {
		msg["reply_to_message"] = map[string]any{"message_id": replyTo, "date": 1772445600, "chat": map[string]any{"id": from, "type": "private"}}
	}
	w.pushRaw(w.staff, map[string]any{"message": msg})
}

// tap queues a button tap.
func (w *world) tap(from int64, msgID int, data string) string {
	id := fmt.Sprintf("cbq-%d-%d", from, w.nextUpdate("cbq"))
	w.pushRaw(w.staff, map[string]any{"callback_query": map[string]any{"id": id, "data": data, "chat_instance": "x",
		"from":    map[string]any{"id": from, "is_bot": false, "first_name": "M"},
		"message": map[string]any{"message_id": msgID, "date": 1772445600, "chat": map[string]any{"id": from, "type": "private"}, "text": "offer"}}})
	return id
}

// pump polls the bots and lets the router settle, like the background loops would.
func (w *world) pump() {
	w.t.Helper()
	for i := 0; i < 3; i++ {
		if p := w.ch.Poller("shop"); p != nil {
			if _, err := p.PollOnce(w.ctx); err != nil {
				w.t.Fatal(err)
			}
		}
		if p := w.ch.Poller(telegram.StaffName); p != nil {
			if _, err := p.PollOnce(w.ctx); err != nil {
				w.t.Fatal(err)
			}
		}
		if err := w.rt.Settle(w.ctx); err != nil {
			w.t.Fatal(err)
		}
	}
}

// sent returns the messages the fake received for a chat (sendMessage, sendPhoto, sendDocument).
func (w *world) sent(chat int64) []telegramtest.Call {
	var out []telegramtest.Call
	for _, c := range w.srv.Calls("") {
		if strings.HasPrefix(c.Method, "send") && c.ChatID() == chat {
			out = append(out, c)
		}
	}
	return out
}

// offerTo returns the offer message (with a Take button) sent to chat, and its message id.
func (w *world) offers(chat int64) []telegramtest.Call {
	var out []telegramtest.Call
	for _, c := range w.sent(chat) {
		if strings.Contains(c.Params.Get("reply_markup"), `"t:`) {
			out = append(out, c)
		}
	}
	return out
}

func (w *world) online(ids ...int64) {
	for _, id := range ids {
		w.managerSays(id, "/online", 0)
	}
	w.pump()
}

func callbackData(t *testing.T, markup, prefix string) string {
	t.Helper()
	var k struct {
		InlineKeyboard [][]struct {
			Data string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(markup), &k); err != nil {
		t.Fatalf("reply_markup %q: %v", markup, err)
	}
	for _, row := range k.InlineKeyboard {
		for _, b := range row {
			if len(b.Data) > 64 {
				t.Fatalf("callback_data longer than 64 bytes: %q", b.Data)
			}
			if strings.HasPrefix(b.Data, prefix) {
				return b.Data
			}
		}
	}
	t.Fatalf("no %q button in %s", prefix, markup)
	return ""
}

func speedToLeadCount(t *testing.T, reg *prometheus.Registry) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lidorub_speed_to_lead_seconds" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "channel" && l.GetValue() == "telegram" {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

func lastText(calls []telegramtest.Call) string {
	if len(calls) == 0 {
		return ""
	}
	c := calls[len(calls)-1]
	return c.Params.Get("text") + c.Params.Get("caption")
}

// TestEndToEnd: a customer update -> offer to a manager -> Take -> customer message forwarded
// -> manager reply -> the customer receives it and speed-to-lead counts it.
func TestEndToEnd(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			w := newWorld(t, shared)
			w.online(anna, boris)
			if got := lastText(w.sent(anna)); !strings.Contains(got, "online") {
				t.Fatalf("anna was told %q", got)
			}

			w.pushFixture(tokenShop, "text.json")
			w.pump()
			// the automatic acknowledgement reached the customer
			if n := len(w.sent(customer)); n != 1 {
				t.Fatalf("customer got %d messages, want the auto-ack", n)
			}
			// exactly one offer, to one manager
			oa, ob := w.offers(anna), w.offers(boris)
			if len(oa)+len(ob) != 1 {
				t.Fatalf("offers: anna %d, boris %d", len(oa), len(ob))
			}
			mgr, offer := anna, oa
			if len(ob) == 1 {
				mgr, offer = boris, ob
			}
			text := offer[0].Params.Get("text")
			for _, want := range []string{"#1", "Telegram", "Olga Petrova", "Hello, how much is a tour to Bali?", "Waiting"} {
				if !strings.Contains(text, want) {
					t.Errorf("offer text lacks %q:\n%s", want, text)
				}
			}
			take := callbackData(t, offer[0].Params.Get("reply_markup"), "t:")
			offerMsg := offer[0].MessageID

			cbq := w.tap(mgr, offerMsg, take)
			w.pump()
			answered := false
			for _, c := range w.srv.Calls("answerCallbackQuery") {
				answered = answered || c.Params.Get("callback_query_id") == cbq
			}
			if !answered {
				t.Fatal("the Take callback was not answered")
			}
			c, err := w.rt.Conversation(w.ctx, 1)
			if err != nil || c.State != router.StateAssigned || c.ManagerID != map[int64]string{anna: "anna", boris: "boris"}[mgr] {
				t.Fatalf("conversation after Take: %+v %v", c, err)
			}
			var edited bool
			for _, e := range w.srv.Calls("editMessageText") {
				if e.Params.Get("message_id") == fmt.Sprint(offerMsg) && strings.Contains(e.Params.Get("reply_markup"), `"q:1:h"`) {
					edited = true
				}
			}
			if !edited {
				t.Fatal("the offer message was not turned into the taken lead with Hot/Warm/Tourist/Close buttons")
			}

			// the customer writes again: forwarded with a header
			w.pushFixture(tokenShop, "photo.json")
			w.pump()
			fwd := w.sent(mgr)
			last := fwd[len(fwd)-1]
			if got := last.Params.Get("text") + last.Params.Get("caption"); !strings.Contains(got, "#1 · Telegram · Olga Petrova") {
				t.Fatalf("forwarded %s %q", last.Method, got)
			}
			if shared {
				// same bot: the photo itself is relayed by file_id
				if last.Method != "sendPhoto" || last.Params.Get("photo") != "AgAD-large" {
					t.Fatalf("want the photo relayed, got %s %v", last.Method, last.Params)
				}
			} else if !strings.Contains(last.Params.Get("text"), "Like this hotel") || !strings.Contains(last.Params.Get("text"), "[photo]") {
				t.Fatalf("forwarded text %q", last.Params.Get("text"))
			}

			// the manager answers with a Telegram reply to the forwarded message
			before := len(w.sent(customer))
			w.managerSays(mgr, "Hi Olga! Bali for two is 2400 EUR.", last.MessageID)
			w.pump()
			got := w.sent(customer)
			if len(got) != before+1 || got[len(got)-1].Params.Get("text") != "Hi Olga! Bali for two is 2400 EUR." || got[len(got)-1].Token != tokenShop {
				t.Fatalf("customer messages: %+v", got)
			}
			if n := speedToLeadCount(t, w.reg); n != 1 {
				t.Fatalf("lidorub_speed_to_lead_seconds count = %d, want 1", n)
			}
			// a plain message goes to the active conversation
			w.managerSays(mgr, "Shall I book it?", 0)
			w.pump()
			if got := lastText(w.sent(customer)); got != "Shall I book it?" {
				t.Fatalf("plain message: customer got %q", got)
			}
			if n := speedToLeadCount(t, w.reg); n != 1 {
				t.Fatalf("speed-to-lead counted again: %d", n)
			}
			// Hot button
			w.tap(mgr, offerMsg, "q:1:h")
			w.pump()
			if c, _ := w.rt.Conversation(w.ctx, 1); c.Qualification != router.QualHot {
				t.Fatalf("qualification %q", c.Qualification)
			}
		})
	}
}

// TestOfferLapses: the offer is not taken in time -> re-offered to the other manager and the
// first offer message is edited (buttons removed).
func TestOfferLapses(t *testing.T) {
	w := newWorld(t, false)
	w.online(anna, boris)
	w.pushFixture(tokenShop, "text.json")
	w.pump()
	oa, ob := w.offers(anna), w.offers(boris)
	if len(oa)+len(ob) != 1 {
		t.Fatalf("offers: anna %d, boris %d", len(oa), len(ob))
	}
	first, second := anna, boris
	firstOffer := oa
	if len(ob) == 1 {
		first, second, firstOffer = boris, anna, ob
	}
	oldTake := callbackData(t, firstOffer[0].Params.Get("reply_markup"), "t:")

	w.clk.Advance(31 * time.Second)
	w.pump()
	if n := len(w.offers(second)); n != 1 {
		t.Fatalf("second manager got %d offers", n)
	}
	var edit *telegramtest.Call
	for _, e := range w.srv.Calls("editMessageText") {
		if e.ChatID() == first && e.Params.Get("message_id") == fmt.Sprint(firstOffer[0].MessageID) {
			edit = &e
		}
	}
	if edit == nil || !strings.Contains(edit.Params.Get("text"), "lapsed") || strings.Contains(edit.Params.Get("reply_markup"), "t:") {
		t.Fatalf("first offer not edited: %+v", edit)
	}
	// the stale Take button is rejected
	w.tap(first, firstOffer[0].MessageID, oldTake)
	w.pump()
	if c, _ := w.rt.Conversation(w.ctx, 1); c.State != router.StateOffered || c.OfferTo == "" || c.ManagerID != "" {
		t.Fatalf("a stale button changed the conversation: %+v", c)
	}
	answers := w.srv.Calls("answerCallbackQuery")
	if len(answers) != 1 || !strings.Contains(answers[0].Params.Get("text"), "no longer valid") {
		t.Fatalf("stale tap answers %+v", answers)
	}
}

// TestBlockedCustomerReported: the customer blocked the bot (403): the manager is told.
func TestBlockedCustomerReported(t *testing.T) {
	w := newWorld(t, false)
	w.srv.FailChat(customer, telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"})
	w.online(anna)
	w.pushFixture(tokenShop, "text.json")
	w.pump()
	// the automatic acknowledgement failed: the supervisors are told
	if got := lastText(w.sent(supChat)); !strings.Contains(got, "could not be delivered") || !strings.Contains(got, "blocked") {
		t.Fatalf("supervisors got %q", got)
	}
	offer := w.offers(anna)
	if len(offer) != 1 {
		t.Fatal("no offer")
	}
	w.tap(anna, offer[0].MessageID, callbackData(t, offer[0].Params.Get("reply_markup"), "t:"))
	w.pump()
	w.managerSays(anna, "Hello!", 0)
	w.pump()
	got := lastText(w.sent(anna))
	if !strings.Contains(got, "not delivered") || !strings.Contains(got, "blocked the bot") || !strings.Contains(got, "#1") {
		t.Fatalf("anna was told %q", got)
	}
	if strings.Contains(got, "secret") {
		t.Fatalf("token in a message to a manager: %q", got)
	}
	if sup := lastText(w.sent(supChat)); !strings.Contains(sup, "Anna") || !strings.Contains(sup, "not delivered") {
		t.Fatalf("supervisors got %q", sup)
	}
}

// TestStrangerGetsNothing: an unknown Telegram user gets a polite refusal and nothing about leads.
func TestStrangerGetsNothing(t *testing.T) {
	w := newWorld(t, false)
	w.online(anna)
	w.pushFixture(tokenShop, "text.json")
	w.pump()
	offer := w.offers(anna)
	if len(offer) != 1 {
		t.Fatal("no offer")
	}
	take := callbackData(t, offer[0].Params.Get("reply_markup"), "t:")
	w.srv.Reset()
	for _, text := range []string{"/start", "/online", "/status", "/list", "/c 1", "hello", "Hi Olga"} {
		w.managerSays(stranger, text, 0)
	}
	w.managerSays(stranger, "reply to the offer", offer[0].MessageID)
	cbq := w.tap(stranger, offer[0].MessageID, take)
	w.pump()
	for _, c := range w.srv.Calls("") {
		if c.Method == "getUpdates" || c.Method == "deleteWebhook" {
			continue
		}
		text := c.Params.Get("text")
		switch {
		case c.Method == "sendMessage" && c.ChatID() == stranger:
		case c.Method == "answerCallbackQuery" && c.Params.Get("callback_query_id") == cbq:
		default:
			t.Fatalf("unexpected call %s %v", c.Method, c.Params)
		}
		for _, leak := range []string{"#1", "Olga", "Bali", "lead", "queue", "Anna"} {
			if strings.Contains(text, leak) {
				t.Fatalf("stranger was told %q", text)
			}
		}
	}
	if n := len(w.sent(stranger)); n != 8 {
		t.Fatalf("stranger got %d answers, want 8 refusals", n)
	}
	c, _ := w.rt.Conversation(w.ctx, 1)
	if c.State != router.StateOffered || c.OfferTo != "anna" {
		t.Fatalf("the stranger changed the conversation: %+v", c)
	}
	if v, _ := w.rt.Manager(w.ctx, "anna"); len(w.customerReplies()) != 0 || v == nil {
		t.Fatal("something reached the customer")
	}
}

func (w *world) customerReplies() []telegramtest.Call {
	var out []telegramtest.Call
	for _, c := range w.sent(customer) {
		if !strings.Contains(c.Params.Get("text"), "Thank you") { // the auto-ack template
			out = append(out, c)
		}
	}
	return out
}

// TestRepeatedEventsSendOnce: events are delivered at least once; repeats send nothing new.
func TestRepeatedEventsSendOnce(t *testing.T) {
	w := newWorld(t, false)
	w.online(anna)
	w.pushFixture(tokenShop, "text.json")
	w.pump()
	c, err := w.rt.Conversation(w.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := len(w.srv.Calls(""))
	evs := []router.Event{
		{ID: "1-1", Type: router.EventOffer, ConversationID: 1, ManagerID: "anna", OfferSeq: c.OfferSeq, Conversation: c},
		{ID: "1-2", Type: router.EventEscalation, ConversationID: 1, Reason: "max_offers", Conversation: c},
	}
	for _, ev := range evs {
		for i := 0; i < 3; i++ {
			if err := w.bot.Notify(w.ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	calls := w.srv.Calls("")[before:]
	if len(calls) != 1 || calls[0].ChatID() != supChat || !strings.Contains(calls[0].Params.Get("text"), "Escalation") {
		t.Fatalf("repeats sent %d messages: %+v", len(calls), calls)
	}
	if n := len(w.offers(anna)); n != 1 {
		t.Fatalf("anna has %d offer messages", n)
	}
}

// TestCommands covers /status, /list, /c N and /offline.
func TestCommands(t *testing.T) {
	w := newWorld(t, false)
	w.online(anna)
	w.pushFixture(tokenShop, "text.json")
	w.pushFixture(tokenShop, "start.json")
	w.pump()
	for _, o := range w.offers(anna) {
		w.tap(anna, o.MessageID, callbackData(t, o.Params.Get("reply_markup"), "t:"))
	}
	w.pump()
	w.managerSays(anna, "/list", 0)
	w.pump()
	list := lastText(w.sent(anna))
	for _, want := range []string{"#1", "#2", "Olga Petrova", "Ivan", "/c 1", "◀ active"} {
		if !strings.Contains(list, want) {
			t.Errorf("/list lacks %q:\n%s", want, list)
		}
	}
	w.managerSays(anna, "/c 1", 0)
	w.managerSays(anna, "to Olga", 0)
	w.managerSays(anna, "/c 9", 0)
	w.pump()
	if got := lastText(w.customerReplies()); got != "to Olga" {
		t.Fatalf("after /c 1 the customer got %q", got)
	}
	if got := lastText(w.sent(anna)); !strings.Contains(got, "not one of your open leads") {
		t.Fatalf("/c 9 answered %q", got)
	}
	w.managerSays(anna, "/status", 0)
	w.pump()
	st := lastText(w.sent(anna))
	for _, want := range []string{"online", "Load: 2 of 5", "queue: 0", "Active lead: #1"} {
		if !strings.Contains(st, want) {
			t.Errorf("/status lacks %q:\n%s", want, st)
		}
	}
	w.managerSays(anna, "/offline", 0)
	w.pump()
	if v, _ := w.rt.Manager(w.ctx, "anna"); v.Online {
		t.Fatal("still online")
	}
	// Close button on lead 1
	w.tap(anna, 1, "x:1")
	w.pump()
	if c, _ := w.rt.Conversation(w.ctx, 1); c.State != router.StateClosed {
		t.Fatalf("state %s after Close", c.State)
	}
}

// TestRetryAfterRetried: Telegram answers 429 with retry_after; the reply is retried and arrives.
func TestRetryAfterRetried(t *testing.T) {
	w := newWorld(t, false)
	w.online(anna)
	w.pushFixture(tokenShop, "text.json")
	w.pump()
	offer := w.offers(anna)
	if len(offer) != 1 {
		t.Fatal("no offer")
	}
	w.tap(anna, offer[0].MessageID, callbackData(t, offer[0].Params.Get("reply_markup"), "t:"))
	w.pump()
	w.managerSays(anna, "Hi Olga!", 0)
	// the staff bot sends nothing for a good reply, so the next sendMessage is the reply itself
	w.srv.FailNext("sendMessage", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 3", RetryAfter: 3})
	w.pump()
	var attempts int
	for _, c := range w.srv.Calls("sendMessage") {
		if c.ChatID() == customer && c.Params.Get("text") == "Hi Olga!" {
			attempts++
		}
	}
	if attempts != 2 {
		t.Fatalf("%d attempts, want a 429 then a success", attempts)
	}
	if got := lastText(w.customerReplies()); got != "Hi Olga!" {
		t.Fatalf("customer got %q", got)
	}
	if n := speedToLeadCount(t, w.reg); n != 1 {
		t.Fatalf("speed-to-lead count %d", n)
	}
	for _, c := range w.sent(anna) {
		if strings.Contains(c.Params.Get("text"), "not delivered") {
			t.Fatalf("a retried message was reported as failed: %q", c.Params.Get("text"))
		}
	}
}

// TestEscalationToSupervisors: nobody takes the lead within max_offers -> the supervisors' chat is told.
func TestEscalationToSupervisors(t *testing.T) {
	w := newWorld(t, false, func(c *router.Config) { c.MaxOffers = 1 })
	w.online(anna)
	w.pushFixture(tokenShop, "text.json")
	w.pump()
	w.clk.Advance(31 * time.Second)
	w.pump()
	got := lastText(w.sent(supChat))
	if !strings.Contains(got, "Escalation") || !strings.Contains(got, "#1") || !strings.Contains(got, "Olga Petrova") {
		t.Fatalf("supervisors got %q", got)
	}
	// repeated pumps (redeliveries) do not repeat it
	w.pump()
	n := 0
	for _, c := range w.sent(supChat) {
		if strings.Contains(c.Params.Get("text"), "Escalation") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d escalation messages", n)
	}
}

// failFirstSet makes the first SET of a key ending in suffix fail (a Redis blip), once.
type failFirstSet struct {
	suffix string
	mu     sync.Mutex
	done   bool
}

func (h *failFirstSet) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *failFirstSet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *failFirstSet) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); cmd.Name() == "set" && len(args) > 1 && strings.HasSuffix(fmt.Sprint(args[1]), h.suffix) {
			h.mu.Lock()
			first := !h.done
			h.done = true
			h.mu.Unlock()
			if first {
				err := fmt.Errorf("injected: connection reset")
				cmd.SetErr(err)
				return err
			}
		}
		return next(ctx, cmd)
	}
}

// A manager's reply that was queued must not be queued again when the update is re-read
// because a later bookkeeping step (remembering the active lead) failed.
func TestReplyNotDuplicatedWhenBookkeepingFails(t *testing.T) {
	w := newWorld(t, false)
	w.online(anna)
	w.pushFixture(tokenShop, "text.json")
	w.pump()
	if err := w.rt.Accept(w.ctx, 1, "anna"); err != nil {
		t.Fatal(err)
	}
	w.pump()

	flaky := redis.NewClient(w.rdb.Options())
	t.Cleanup(func() { _ = flaky.Close() })
	flaky.AddHook(&failFirstSet{suffix: ":active:anna"})
	bot, err := staffbot.New(staffbot.Config{SupervisorsChatID: supChat, Managers: []router.Manager{
		{ID: "anna", Name: "Anna", TelegramID: anna, Capacity: 5}}},
		staffbot.Deps{Client: w.ch.StaffClient(), Desk: w.rt, Redis: flaky, Keys: w.keys, Clock: w.clk, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var u tgbotapi.Update
	if err := json.Unmarshal([]byte(fmt.Sprintf(`{"update_id":1,"message":{"message_id":4242,"date":1772445600,
		"from":{"id":%d,"is_bot":false,"first_name":"Anna"},"chat":{"id":%d,"type":"private"},
		"text":"Bali for two is 2400 EUR"}}`, anna, anna)), &u); err != nil {
		t.Fatal(err)
	}
	// the poller hands the update over until it is handled without error (at most twice here)
	for i := 0; i < 2; i++ {
		if _, err := bot.HandleStaffUpdate(w.ctx, &u, false); err == nil {
			break
		}
	}
	w.pump()
	var replies int
	for _, c := range w.customerReplies() {
		if c.Params.Get("text") == "Bali for two is 2400 EUR" {
			replies++
		}
	}
	if replies != 1 {
		t.Fatalf("the customer got the reply %d times", replies)
	}
}
