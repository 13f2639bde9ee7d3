package telegram

import (
	"context"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
)

// contractUpstream is Telegram delivering updates to the webhook bot (retried by Telegram
// until it gets a 2xx) and the fake Bot API answering the customer bot's sends.
type contractUpstream struct {
	ch  *Channel
	srv *telegramtest.Server
	mux *http.ServeMux
}

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, _ *channeltest.Env, d channels.Deps) channeltest.Upstream {
		e := newEnv(t)
		d.Clock = e.clk
		ch, err := New(e.cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		ch.Register(mux)
		return contractUpstream{ch: ch, srv: e.srv, mux: mux}
	})
}

// pollingUpstream is Telegram serving updates to the polling bot's getUpdates: an update is
// acknowledged when the offset stored after the batch has moved past it.
type pollingUpstream struct {
	p   *Poller
	srv *telegramtest.Server
}

func TestContractPolling(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, _ *channeltest.Env, d channels.Deps) channeltest.Upstream {
		e := newEnv(t)
		d.Clock = e.clk
		ch, err := New(e.cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		p := ch.Poller("shop")
		p.SetTimeout(0)
		return pollingUpstream{p: p, srv: e.srv}
	})
}

func (u pollingUpstream) Deliver(t *testing.T, id string) bool {
	n, raw := update(t, id)
	u.srv.PushUpdate(tokenShop, []byte(raw))
	res, err := u.p.PollOnce(context.Background())
	return err == nil && res.Leader && res.Offset > n
}

// update is text.json as update id: the same update (update_id, message_id) for one id.
func update(t *testing.T, id string) (int64, string) {
	h := fnv.New32a()
	h.Write([]byte(id))
	n := int64(h.Sum32() % 1_000_000)
	s := strings.Replace(string(fixture(t, "text.json")), `"update_id": 500100`, `"update_id": `+strconv.FormatInt(n, 10), 1)
	return n, strings.Replace(s, `"message_id": 11`, `"message_id": `+strconv.FormatInt(n, 10), 1)
}

func (u contractUpstream) post(t *testing.T, id, secret string) bool {
	_, raw := update(t, id)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/telegram/hooks", strings.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	w := httptest.NewRecorder()
	u.mux.ServeHTTP(w, r)
	return w.Code == http.StatusOK
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool { return u.post(t, id, hookSecret) }

func (u contractUpstream) DeliverForged(t *testing.T, id string) bool {
	return u.post(t, id, "not-the-webhook-secret")
}

func (u contractUpstream) SendRefused(t *testing.T) error {
	u.srv.FailNext("sendMessage", telegramtest.Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"})
	_, err := u.ch.Send(context.Background(), reply("refused"))
	return err
}

func (u contractUpstream) SendRateLimited(t *testing.T) error {
	u.srv.FailNext("sendMessage", telegramtest.Failure{Code: 429, Description: "Too Many Requests: retry after 7", RetryAfter: 7})
	_, err := u.ch.Send(context.Background(), reply("limited"))
	return err
}

func reply(id string) channels.Outbound {
	return channels.Outbound{ID: id, Channel: Name, Account: "shop", ContactID: "7001", Kind: "reply", ManagerID: "anna", Text: "hello"}
}
