package vk

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

// contractUpstream is VK's Callback API delivery of a customer message and the fake VK API.
type contractUpstream struct{ e *env }

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, ce *channeltest.Env, d channels.Deps) channeltest.Upstream {
		return contractUpstream{newEnvWith(t, ce, d)}
	})
}

// body is message_new.json with a message id and event id of its own for id.
func (u contractUpstream) body(t *testing.T, id, secret string) []byte {
	h := fnv.New32a()
	h.Write([]byte(id))
	s := string(fixture(t, "message_new.json"))
	s = strings.Replace(s, `"id":271`, fmt.Sprintf(`"id":%d`, 1000+h.Sum32()%1000000), 1)
	s = strings.Replace(s, "3c1b9f4a2e7d5c8b0a6f1e2d3c4b5a69786f5e4d", fmt.Sprintf("%040x", h.Sum32()), 1)
	return []byte(strings.Replace(s, testSecret, secret, 1))
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool {
	w := u.e.post(t, Path(testComm), u.body(t, id, testSecret))
	return w.Code == http.StatusOK && w.Body.String() == "ok"
}

func (u contractUpstream) DeliverForged(t *testing.T, id string) bool {
	w := u.e.post(t, Path(testComm), u.body(t, id, "not-the-secret"))
	return w.Code == http.StatusOK && w.Body.String() == "ok"
}

func (u contractUpstream) send(t *testing.T, file string) error {
	u.e.api.reply = func(int) (int, string) { return 200, string(fixture(t, file)) }
	_, err := u.e.ch.Send(context.Background(), out("o1", "Здравствуйте!"))
	return err
}

func (u contractUpstream) SendRefused(t *testing.T) error { return u.send(t, "error_901.json") }

func (u contractUpstream) SendRateLimited(t *testing.T) error { return u.send(t, "error_9.json") }
