package viber

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
)

// contractUpstream is Viber's callback of a customer message and the fake REST Bot API.
type contractUpstream struct{ e *env }

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, ce *channeltest.Env, d channels.Deps) channeltest.Upstream {
		return contractUpstream{newEnvWith(t, ce, d)}
	})
}

// body is message_text.json with a message_token of its own for id.
func (u contractUpstream) body(t *testing.T, id string) []byte {
	h := fnv.New64a()
	h.Write([]byte(id))
	tok := fmt.Sprint(h.Sum64() >> 1)
	return []byte(strings.Replace(string(fixture(t, "message_text.json")), "5741311803571721087", tok, 1))
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool {
	b := u.body(t, id)
	return u.e.post(t, Path(testBot), b, Sign(testToken, b)).Code == http.StatusOK
}

func (u contractUpstream) DeliverForged(t *testing.T, id string) bool {
	b := u.body(t, id)
	return u.e.post(t, Path(testBot), b, Sign("not-the-bot-token", b)).Code == http.StatusOK
}

func (u contractUpstream) send(t *testing.T, file string) error {
	u.e.api.reply = func(string, int) (int, string) { return 200, string(fixture(t, file)) }
	_, err := u.e.ch.Send(context.Background(), out("o1", "Добрий день!"))
	return err
}

func (u contractUpstream) SendRefused(t *testing.T) error {
	return u.send(t, "send_not_registered.json")
}

func (u contractUpstream) SendRateLimited(t *testing.T) error { return u.send(t, "send_too_many.json") }
