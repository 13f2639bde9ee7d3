package instagram

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/clock"
)

// contractUpstream is Meta's webhook delivery of a Direct message and the fake Graph API.
type contractUpstream struct {
	e *env
}

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, ce *channeltest.Env, d channels.Deps) channeltest.Upstream {
		e := &env{rdb: ce.Redis, keys: ce.Keys, clk: clock.NewFake(fixtureTime.Add(5 * time.Second)), graph: newFakeGraph(t), alerts: &alerts{}}
		cfg := Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: testSecret, VerifyToken: testVerify, GraphURL: e.graph.srv.URL},
			Accounts: []Account{{ID: acct1, Token: token1}}}
		cfg.Defaults()
		d.Clock, d.Alerter = e.clk, e.alerts
		ch, err := New(cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		e.ch, e.srv = ch, ch.Handler()
		return contractUpstream{e}
	})
}

func (u contractUpstream) body(t *testing.T, id string) []byte {
	return []byte(strings.Replace(string(fixture(t, "dm_text.json")), `"mid":"`, `"mid":"`+id+`-`, 1))
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool {
	b := u.body(t, id)
	return u.e.post(t, b, meta.Sign(testSecret, b)).Code == http.StatusOK
}

func (u contractUpstream) DeliverForged(t *testing.T, id string) bool {
	b := u.body(t, id)
	return u.e.post(t, b, meta.Sign("not-the-app-secret", b)).Code == http.StatusOK
}

func (u contractUpstream) send(t *testing.T, status int, h http.Header, body string) error {
	if !u.Deliver(t, "window") { // the customer wrote: the messaging window is open
		t.Fatal("delivery refused")
	}
	u.e.graph.reply = func(int, graphRequest) (int, http.Header, string) { return status, h, body }
	_, err := u.e.ch.Send(context.Background(), outbound("o", "1029384756102938", "hi", nil))
	return err
}

func (u contractUpstream) SendRefused(t *testing.T) error {
	return u.send(t, 400, nil, `{"error":{"message":"No matching user found","type":"OAuthException","code":100,"error_subcode":2534014}}`)
}

func (u contractUpstream) SendRateLimited(t *testing.T) error {
	return u.send(t, 429, http.Header{"Retry-After": {"30"}}, `{"error":{"message":"slow down","code":80002}}`)
}
