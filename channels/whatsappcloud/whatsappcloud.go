// Package whatsappcloud is the WhatsApp channel through Meta's Cloud API: customer messages
// and delivery statuses arrive through Meta's webhook at /webhooks/whatsapp; replies go out
// through {graph}/{version}/{phone_number_id}/messages inside the 24-hour customer-service
// window, and outside it only an approved template configured for that purpose.
package whatsappcloud

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/channels/multipart"
)

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = channels.WhatsAppCloud

// Path is the webhook endpoint (GET verification, POST deliveries).
const Path = "/webhooks/whatsapp"

const (
	// MaxTextBytes keeps every part under the Cloud API's 4096-character text limit.
	MaxTextBytes = 4096
	// ServiceWindow is the customer-service window opened by each customer message.
	ServiceWindow = 24 * time.Hour
	// errReengagement: "more than 24 hours have passed since the customer last replied".
	errReengagement = 131047
)

// Channel is the WhatsApp Cloud API channel: webhook handler and channels.Sender.
type Channel struct {
	*meta.Base
	cfg      Config
	accounts map[string]Account
}

var _ channels.Sender = (*Channel)(nil)

// New builds the channel from a validated, defaulted config.
func New(cfg Config, d channels.Deps) (*Channel, error) {
	c := &Channel{cfg: cfg, accounts: map[string]Account{}}
	var ids []string
	for _, a := range cfg.Accounts {
		if a.Template == nil {
			t := cfg.Template
			a.Template = &t
		}
		c.accounts[a.PhoneNumberID] = a
		ids = append(ids, a.PhoneNumberID)
	}
	base, err := cfg.NewBase(Path, meta.Webhook{
		Channel: Name,
		Parse: func(body []byte) (meta.Batch, error) {
			return Parse(body, func(id string) bool { _, ok := c.accounts[id]; return ok }, ParseOptions{AllowGroups: cfg.AllowGroups})
		},
		AfterIngest: c.afterIngest,
	}, ids, d)
	if err != nil {
		return nil, err
	}
	c.Base = base
	return c, nil
}

// afterIngest keeps the customer-service window: every customer message (reactions
// included) opens it; a failed status saying the window is closed closes it, but only when
// the failure is newer than the customer's latest message (Meta does not deliver webhooks
// in order: a stale failure must not block the reply to a customer who just wrote).
func (c *Channel) afterIngest(ctx context.Context, in channels.Inbound) error {
	switch in.Kind {
	case channels.KindStatus:
		if in.Meta["status"] == "failed" && in.Meta[MetaErrorCode] == fmt.Sprint(errReengagement) && in.ContactID != "" {
			at := in.SentAt
			if at.IsZero() {
				at = c.Clock.Now()
			}
			closed, err := c.Window.Close(ctx, in.Account, in.ContactID, at)
			if err == nil && !closed {
				c.Log.Info("whatsappcloud: a re-engagement failure older than the customer's last message did not close the window",
					"account", in.Account, "status_id", in.MessageID)
			}
			return err
		}
		return nil
	case channels.KindMessage, channels.KindReaction, "":
		return c.TouchWindow(ctx, in)
	}
	return nil
}

func (c *Channel) progressKey(account, outID string) string {
	return c.Keys.Channel(Name, account, "out:"+outID)
}

func (c *Channel) templateKey(account, contact string) string {
	return c.Keys.Channel(Name, account, "template:"+c.Keys.Pseudonym(contact)) // no phone in key names
}

type sendText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url,omitempty"`
}

type sendMedia struct {
	Link     string `json:"link"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type sendTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
}

type sendRequest struct {
	MessagingProduct string        `json:"messaging_product"`
	RecipientType    string        `json:"recipient_type,omitempty"`
	To               string        `json:"to,omitempty"`        // a phone number (wa_id) or a group id
	Recipient        string        `json:"recipient,omitempty"` // a business-scoped user id
	Type             string        `json:"type"`
	Text             *sendText     `json:"text,omitempty"`
	Image            *sendMedia    `json:"image,omitempty"`
	Video            *sendMedia    `json:"video,omitempty"`
	Audio            *sendMedia    `json:"audio,omitempty"`
	Document         *sendMedia    `json:"document,omitempty"`
	Template         *sendTemplate `json:"template,omitempty"`
}

type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

//go:embed claim_template.lua
var claimTemplateLua string

// claimTemplateScript: see claim_template.lua.
var claimTemplateScript = redis.NewScript(claimTemplateLua)

// claimTemplateArgs are claim_template.lua's ARGV, in order.
type claimTemplateArgs struct {
	OutboundID string        // ARGV[1]
	TTL        time.Duration // ARGV[2] how long the claim lasts
}

// claimTemplate runs claim_template.lua: true if this outbound may send the template.
func claimTemplate(ctx context.Context, rdb redis.Scripter, key string, a claimTemplateArgs) (bool, error) {
	n, err := claimTemplateScript.Run(ctx, rdb, []string{key}, a.OutboundID, a.TTL.Milliseconds()).Int()
	return n == 1, err
}

// Send delivers a reply inside the customer-service window. Outside it, the configured
// approved template is sent instead (once per contact per day) and the manager is told
// their text did not go; without a template the reply is refused with the reason.
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	acct, ok := c.accounts[out.Account]
	if !ok {
		return channels.SendResult{}, channels.Permanentf("WhatsApp Cloud phone number %q is not configured", out.Account)
	}
	if out.ContactID == "" {
		return channels.SendResult{}, channels.Permanentf("the conversation has no WhatsApp number to write to")
	}
	parts, err := buildParts(out)
	if err != nil {
		return channels.SendResult{}, err
	}
	w, err := c.Window.State(ctx, acct.PhoneNumberID, out.ContactID)
	if err != nil {
		return channels.SendResult{}, fmt.Errorf("whatsappcloud: read service window: %w", err)
	}
	if !w.Known || w.Closed || c.Clock.Now().Sub(w.Last) > ServiceWindow {
		return c.outsideWindow(ctx, acct, out, w)
	}
	first, err := multipart.Send(ctx, c.RDB, c.progressKey(acct.PhoneNumberID, out.ID), len(parts), func(i int) (string, error) {
		req := parts[i]
		addressTo(&req, out.ContactID)
		return c.post(ctx, acct, out.ContactID, req)
	})
	return channels.SendResult{ChannelMessageID: first}, err
}

func (c *Channel) outsideWindow(ctx context.Context, acct Account, out channels.Outbound, w meta.WindowState) (channels.SendResult, error) {
	since := c.windowReason(w)
	t := acct.Template
	if t == nil || t.Name == "" {
		return channels.SendResult{}, channels.Permanentf("cannot send on WhatsApp: the reply is outside the 24-hour customer-service window (%s) and no approved template is configured; wait until the customer writes again", since)
	}
	key := c.templateKey(acct.PhoneNumberID, out.ContactID)
	owned, err := claimTemplate(ctx, c.RDB, key, claimTemplateArgs{OutboundID: out.ID, TTL: ServiceWindow})
	if err != nil {
		return channels.SendResult{}, fmt.Errorf("whatsappcloud: claim template: %w", err)
	}
	if !owned {
		return channels.SendResult{}, channels.Permanentf("cannot send on WhatsApp: the reply is outside the 24-hour customer-service window (%s); the approved template %q was already sent to invite the customer back — reply once they answer", since, t.Name)
	}
	req := sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual", Type: "template",
		Template: &sendTemplate{Name: t.Name}}
	addressTo(&req, out.ContactID)
	req.Template.Language.Code = t.Language
	id, err := c.post(ctx, acct, out.ContactID, req)
	if err != nil {
		if channels.IsPermanent(err) {
			_ = c.RDB.Del(context.WithoutCancel(ctx), key).Err()
		}
		return channels.SendResult{}, err
	}
	c.Log.Info("whatsappcloud: outside the service window, template sent instead of the reply", "account", acct.PhoneNumberID, "outbound", out.ID, "template", t.Name)
	return channels.SendResult{ChannelMessageID: id}, channels.Permanentf("your text was NOT sent: the reply is outside WhatsApp's 24-hour customer-service window (%s). The approved template %q was sent instead to invite the customer back; reply again once they answer", since, t.Name)
}

func (c *Channel) post(ctx context.Context, acct Account, contact string, req sendRequest) (string, error) {
	var resp sendResponse
	err := c.Graph.Post(ctx, acct.PhoneNumberID, acct.Token, acct.PhoneNumberID+"/messages", req, &resp)
	if err != nil {
		return "", c.explain(ctx, acct, contact, err)
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return "", fmt.Errorf("whatsappcloud: the Graph API accepted the message but returned no message id")
	}
	return resp.Messages[0].ID, nil
}

// windowReason says, truthfully, why a reply is outside the customer-service window.
func (c *Channel) windowReason(w meta.WindowState) string {
	switch {
	case !w.Known:
		return fmt.Sprintf("no message from the customer is on record in the last %d days", int(meta.WindowTTL/(24*time.Hour)))
	case w.Closed:
		return fmt.Sprintf("WhatsApp reported the window closed after the customer's last message, %s ago",
			c.Clock.Now().Sub(w.Last).Truncate(time.Minute))
	}
	return fmt.Sprintf("the customer last wrote %s ago", c.Clock.Now().Sub(w.Last).Truncate(time.Minute))
}

// explain turns known Cloud API errors into messages a manager understands.
func (c *Channel) explain(ctx context.Context, acct Account, contact string, err error) error {
	var ge *meta.GraphError
	if !errors.As(err, &ge) || !channels.IsPermanent(err) {
		return err
	}
	switch ge.Code {
	case errReengagement:
		if _, cerr := c.Window.Close(ctx, acct.PhoneNumberID, contact, c.Clock.Now()); cerr != nil {
			c.Log.Warn("could not close the service window", "account", acct.PhoneNumberID, "err", cerr)
		}
		return channels.Permanentf("WhatsApp refused the message: the 24-hour customer-service window is closed (%v)", ge)
	case 131026:
		return channels.Permanentf("WhatsApp could not deliver the message to this number (not on WhatsApp, or an old app version) (%v)", ge)
	case 131030:
		return channels.Permanentf("WhatsApp refused the message: the number is not in the test recipients list of this app (%v)", ge)
	case 132000, 132001, 132005, 132007, 132012:
		return channels.Permanentf("WhatsApp refused the approved template: check template name and language in the config (%v)", ge)
	}
	return err
}

// addressTo sets the recipient of req from a contact id: a phone number (digits) goes in
// "to"; a group ("group:<id>", allow_groups) in "to" with recipient_type "group"; anything
// else is a business-scoped user id, which the Cloud API takes in "recipient".
func addressTo(req *sendRequest, contact string) {
	if g, ok := strings.CutPrefix(contact, GroupContactPrefix); ok {
		req.RecipientType, req.To = "group", g
		return
	}
	if strings.Trim(contact, "0123456789") == "" {
		req.To = contact
		return
	}
	req.Recipient = contact
}

// buildParts turns the outbound text and attachments into Cloud API messages (To unset).
func buildParts(out channels.Outbound) ([]sendRequest, error) {
	var parts []sendRequest
	for _, t := range multipart.Split(out.Text, MaxTextBytes) {
		parts = append(parts, sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual", Type: "text", Text: &sendText{Body: t}})
	}
	for _, a := range out.Attachments {
		if !(len(a.Ref) > 8 && a.Ref[:8] == "https://") {
			return nil, channels.Permanentf("WhatsApp attachments must be public https links (attachment %q is not)", a.Kind)
		}
		r := sendRequest{MessagingProduct: "whatsapp", RecipientType: "individual"}
		md := &sendMedia{Link: a.Ref}
		switch a.Kind {
		case "image":
			r.Type, r.Image = "image", md
		case "video":
			r.Type, r.Video = "video", md
		case "audio", "voice":
			r.Type, r.Audio = "audio", md
		case "document", "file":
			md.Filename = a.Name
			r.Type, r.Document = "document", md
		default:
			return nil, channels.Permanentf("WhatsApp cannot send an attachment of kind %q", a.Kind)
		}
		parts = append(parts, r)
	}
	if len(parts) == 0 {
		return nil, channels.Permanentf("empty message")
	}
	return parts, nil
}
