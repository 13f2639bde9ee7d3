package whatsapp

import (
	"testing"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
)

// contractUpstream is WhatsApp delivering messages to a connected linked device: the event
// handler's answer is the ack (false: WhatsApp redelivers). The socket is end-to-end
// encrypted, so there is no signature to forge; whatsmeow's send errors carry no retry
// delay, so the send cases are the channel's own tests.
type contractUpstream struct {
	c *fakeClient
}

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, ce *channeltest.Env, d channels.Deps) channeltest.Upstream {
		e := newEnv(t, ce.Redis, ce.Keys, ce.Clock, func(_ *Config, dd *channels.Deps) { dd.Ingester = d.Ingester })
		e.step(t)
		c := e.client("sales")
		if c == nil || !c.IsConnected() {
			t.Fatal("account did not connect")
		}
		c.dispatch(&events.Connected{})
		return contractUpstream{c}
	})
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool {
	msg := loadMessage(t, "conversation.json")
	msg.Info.ID += id
	return u.c.dispatch(msg)
}
