package webchat

import (
	"context"
	"strings"

	"github.com/lidorub/lidorub/channels"
)

// Send puts a message into the visitor's history (their outbox): it reaches an open widget
// at once and a returning visitor (same token) later. It is idempotent by the outbound id.
// The ChannelMessageID "<session>/<entry id>" is the ref of the "delivered" status the chat
// reports when the browser has received the message; the result is Pending until then.
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	if out.Account != "" && out.Account != c.cfg.Account {
		return channels.SendResult{}, channels.Permanentf("no website chat named %q is configured", out.Account)
	}
	if !validSID(out.ContactID) {
		return channels.SendResult{}, channels.Permanentf("the conversation has no website chat session to write to")
	}
	var atts []attachment
	for _, a := range out.Attachments {
		at := attachment{Kind: a.Kind, Name: a.Name}
		if strings.HasPrefix(a.Ref, "https://") {
			at.URL = a.Ref
		}
		atts = append(atts, at)
	}
	if strings.TrimSpace(out.Text) == "" && len(atts) == 0 {
		return channels.SendResult{}, channels.Permanentf("empty message")
	}
	id, _, err := c.appendEvent(ctx, out.ContactID, "o:"+out.ID, stored{Dir: "out", OutID: out.ID, Kind: out.Kind,
		Text: out.Text, Attachments: atts, At: ms(c.clk.Now())})
	if err != nil {
		return channels.SendResult{}, err // temporary: Redis
	}
	c.m.sent.WithLabelValues(out.Kind).Inc()
	// Pending: the visitor has it when their browser does (speed-to-lead ends at the
	// "delivered" status this channel reports then).
	return channels.SendResult{ChannelMessageID: out.ContactID + "/" + id, Pending: true}, nil
}
