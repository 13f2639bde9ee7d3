package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

// TestServeTelegram runs the wired gateway (router workers, Telegram polling loops, HTTP
// server) against a fake Bot API: a customer writes, the manager takes the lead and answers
// in Telegram, the customer gets the answer and /metrics counts speed-to-lead.
func TestServeTelegram(t *testing.T) {
	const shop = "111111:shop-secret-token-AAAA"
	srv := telegramtest.New(t)
	cfg := &config.Config{
		Managers: []router.Manager{{ID: "anna", Name: "Anna", TelegramID: 9001}},
		Channels: config.Channels{Telegram: telegram.Config{Enabled: true, APIURL: srv.URL, PollTimeout: time.Second, LeaseTTL: 20 * time.Second,
			Bots: []telegram.BotConfig{{Name: "shop", Token: shop}}, Staff: telegram.StaffConfig{Token: shop}}},
	}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = redistest.Prefix()
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := Build(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, ln) }()

	n := 0
	push := func(body string) {
		n++
		srv.PushUpdate(shop, []byte(fmt.Sprintf(`{"update_id": %d, %s}`, 900000+n, body)))
	}
	// waitFor polls the fake for the gateway's background work (not for a timer).
	waitFor := func(what string, ok func(telegramtest.Call) bool) telegramtest.Call {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			for _, c := range srv.Calls("") {
				if ok(c) {
					return c
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; calls: %d", what, len(srv.Calls("")))
		return telegramtest.Call{}
	}
	managerMsg := func(id int, text string) string {
		ent := ""
		if strings.HasPrefix(text, "/") {
			ent = fmt.Sprintf(`, "entities": [{"type": "bot_command", "offset": 0, "length": %d}]`, len(text))
		}
		return fmt.Sprintf(`"message": {"message_id": %d, "date": 1700000000, "from": {"id": 9001, "first_name": "Anna"}, "chat": {"id": 9001, "type": "private"}, "text": %q%s}`, id, text, ent)
	}

	push(managerMsg(1, "/online"))
	waitFor("online confirmation", func(c telegramtest.Call) bool {
		return c.Method == "sendMessage" && c.ChatID() == 9001 && strings.Contains(c.Params.Get("text"), "online")
	})
	push(`"message": {"message_id": 11, "date": 1700000000, "from": {"id": 7001, "first_name": "Olga"}, "chat": {"id": 7001, "type": "private"}, "text": "Bali for two?"}`)
	offer := waitFor("the offer", func(c telegramtest.Call) bool {
		return c.Method == "sendMessage" && c.ChatID() == 9001 && strings.Contains(c.Params.Get("reply_markup"), `"t:1:`)
	})
	var k struct {
		InlineKeyboard [][]struct {
			Data string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	_ = json.Unmarshal([]byte(offer.Params.Get("reply_markup")), &k)
	push(fmt.Sprintf(`"callback_query": {"id": "q1", "chat_instance": "x", "data": %q, "from": {"id": 9001, "first_name": "Anna"}, "message": {"message_id": %d, "date": 1700000000, "chat": {"id": 9001, "type": "private"}}}`,
		k.InlineKeyboard[0][0].Data, offer.MessageID))
	waitFor("the offer turned into the taken lead", func(c telegramtest.Call) bool {
		return c.Method == "editMessageText" && c.Params.Get("message_id") == fmt.Sprint(offer.MessageID)
	})
	push(managerMsg(2, "Hi Olga, 2400 EUR for two."))
	waitFor("the reply to the customer", func(c telegramtest.Call) bool {
		return c.Method == "sendMessage" && c.ChatID() == 7001 && c.Params.Get("text") == "Hi Olga, 2400 EUR for two."
	})
	var body string
	for i := 0; i < 200 && !strings.Contains(body, `lidorub_speed_to_lead_seconds_count{channel="telegram"} 1`); i++ {
		resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(body, `lidorub_speed_to_lead_seconds_count{channel="telegram"} 1`) {
		t.Fatal("speed-to-lead not counted in /metrics")
	}
	if !strings.Contains(body, `lidorub_telegram_updates_total{bot="shop",result="staff"} 3`) ||
		!strings.Contains(body, `lidorub_telegram_updates_total{bot="shop",result="ingested"} 1`) {
		t.Errorf("telegram update metrics: %s", grepLines(body, "lidorub_telegram_updates_total"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
