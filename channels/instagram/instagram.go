// Package instagram is the Instagram channel: Direct messages and comments arrive through
// Meta's webhook at /webhooks/instagram; managers' replies go out through the Graph API
// Send API — the first answer to a comment lead as a private reply, later ones as Direct
// messages inside Instagram's messaging window.
package instagram

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/channels/multipart"
	"github.com/lidorub/lidorub/locale"
)

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = channels.Instagram

// Path is the webhook endpoint (GET verification, POST deliveries).
const Path = "/webhooks/instagram"

// Messaging limits.
const (
	// MaxTextBytes: Instagram text messages must be at most 1000 bytes of UTF-8.
	MaxTextBytes = 1000
	// StandardWindow: free-form messages within 24 hours of the customer's last message.
	StandardWindow = 24 * time.Hour
	// HumanAgentWindow: with the HUMAN_AGENT tag, up to 7 days.
	HumanAgentWindow = 7 * 24 * time.Hour
	// PrivateReplyWindow: a comment can be answered by one private reply within 7 days.
	PrivateReplyWindow = 7 * 24 * time.Hour
)

// Channel is the Instagram channel: webhook handler and channels.Sender.
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
		if a.SendID == "" {
			a.SendID = a.ID
		}
		c.accounts[a.ID] = a
		ids = append(ids, a.ID)
	}
	comments := cfg.Comments == nil || *cfg.Comments
	base, err := cfg.NewBase(Path, meta.Webhook{
		Channel: Name,
		Parse: func(body []byte) (meta.Batch, error) {
			return Parse(body, func(id string) bool { _, ok := c.accounts[id]; return ok }, comments)
		},
		AfterIngest: c.afterIngest,
	}, ids, d)
	if err != nil {
		return nil, err
	}
	c.Base = base
	return c, nil
}

// afterIngest records, once an item is durable, what the sender needs later: the time of
// the customer's last Direct message (messaging window) and, for a comment, that its
// private reply is still available (for 7 days).
func (c *Channel) afterIngest(ctx context.Context, in channels.Inbound) error {
	if in.Kind != channels.KindMessage && in.Kind != "" {
		return nil
	}
	if id := in.Meta[MetaCommentID]; in.Meta[MetaOrigin] == "comment" && id != "" {
		ttl := PrivateReplyWindow
		if !in.SentAt.IsZero() {
			ttl -= c.Clock.Now().Sub(in.SentAt)
		}
		if ttl <= 0 {
			return nil
		}
		return c.RDB.SetNX(ctx, c.privateReplyKey(in.Account, id), privateReplyPending, ttl).Err()
	}
	return c.TouchWindow(ctx, in)
}

const privateReplyPending = "pending"

func (c *Channel) privateReplyKey(account, commentID string) string {
	return c.Keys.Channel(Name, account, "private_reply:"+commentID)
}

func (c *Channel) progressKey(account, outID string) string {
	return c.Keys.Channel(Name, account, "out:"+outID)
}

//go:embed claim_private_reply.lua
var claimPrivateReplyLua string

//go:embed release_private_reply.lua
var releasePrivateReplyLua string

// The scripts of the comment's private reply: see their .lua files.
var (
	claimPrivateReplyScript   = redis.NewScript(claimPrivateReplyLua)
	releasePrivateReplyScript = redis.NewScript(releasePrivateReplyLua)
)

// privateReplyArgs are the ARGV of both private-reply scripts, in order.
type privateReplyArgs struct {
	OutboundID string // ARGV[1]
}

// claimPrivateReply runs claim_private_reply.lua: true if this outbound owns the reply.
func claimPrivateReply(ctx context.Context, rdb redis.Scripter, key string, a privateReplyArgs) (bool, error) {
	n, err := claimPrivateReplyScript.Run(ctx, rdb, []string{key}, a.OutboundID).Int()
	return n == 1, err
}

// releasePrivateReply runs release_private_reply.lua: true if the reply was given back.
func releasePrivateReply(ctx context.Context, rdb redis.Scripter, key string, a privateReplyArgs) (bool, error) {
	n, err := releasePrivateReplyScript.Run(ctx, rdb, []string{key}, a.OutboundID).Int()
	return n == 1, err
}

type sendRecipient struct {
	ID        string `json:"id,omitempty"`
	CommentID string `json:"comment_id,omitempty"`
}

type sendAttachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL string `json:"url"`
	} `json:"payload"`
}

type sendMessage struct {
	Text       string          `json:"text,omitempty"`
	Attachment *sendAttachment `json:"attachment,omitempty"`
}

type sendRequest struct {
	Recipient     sendRecipient `json:"recipient"`
	MessagingType string        `json:"messaging_type,omitempty"`
	Tag           string        `json:"tag,omitempty"`
	Message       sendMessage   `json:"message"`
}

type sendResponse struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// Send delivers a reply. For a conversation that started from a comment (Outbound.Meta
// comment_id) whose private reply is unused, it goes out as that private reply; otherwise as
// Direct messages, which need the customer to have written a Direct message within 24 hours
// (7 days with human_agent). Long texts are split; a retry resumes after the parts already sent.
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	acct, ok := c.accounts[out.Account]
	if !ok {
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.account_not_configured", "channel", "Instagram", "account", out.Account))
	}
	if out.ContactID == "" {
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.no_recipient", "channel", "Instagram"))
	}
	parts, err := buildParts(out)
	if err != nil {
		return channels.SendResult{}, err
	}

	// The one private reply of a comment is kept for a manager's answer; automatic messages
	// (acknowledgement, off-hours, close) use it only with auto_private_reply.
	mayPrivateReply := out.Human() || c.cfg.AutoPrivateReply
	if commentID := out.Meta[MetaCommentID]; commentID != "" && mayPrivateReply {
		key := c.privateReplyKey(acct.ID, commentID)
		owned, err := claimPrivateReply(ctx, c.RDB, key, privateReplyArgs{OutboundID: out.ID})
		if err != nil {
			return channels.SendResult{}, fmt.Errorf("instagram: claim private reply: %w", err)
		}
		if owned {
			return c.sendPrivateReply(ctx, acct, key, commentID, out, parts)
		}
	}

	last, ok, err := c.Window.Last(ctx, acct.ID, out.ContactID)
	if err != nil {
		return channels.SendResult{}, fmt.Errorf("instagram: read messaging window: %w", err)
	}
	if !ok {
		if out.Meta[MetaCommentID] != "" && !mayPrivateReply {
			return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.instagram.comment_auto"))
		}
		if out.Meta[MetaCommentID] != "" {
			return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.instagram.comment_used"))
		}
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.instagram.no_window"))
	}
	var req sendRequest
	age := c.Clock.Now().Sub(last)
	switch {
	case age <= StandardWindow:
		req.MessagingType = "RESPONSE"
	case c.cfg.HumanAgent && age <= HumanAgentWindow:
		req.MessagingType, req.Tag = "MESSAGE_TAG", "HUMAN_AGENT"
	default:
		key := "failure.instagram.window_24h"
		if c.cfg.HumanAgent {
			key = "failure.instagram.window_7d"
		}
		return channels.SendResult{}, channels.Permanent(locale.Errorf(key, "ago", age.Truncate(time.Minute)))
	}
	req.Recipient = sendRecipient{ID: out.ContactID}
	return c.sendParts(ctx, acct, out, req, parts)
}

func (c *Channel) sendPrivateReply(ctx context.Context, acct Account, key, commentID string, out channels.Outbound, parts []sendMessage) (channels.SendResult, error) {
	release := func() {
		if _, err := releasePrivateReply(context.WithoutCancel(ctx), c.RDB, key, privateReplyArgs{OutboundID: out.ID}); err != nil {
			c.Log.Error("could not release a private reply claim", "account", acct.ID, "comment_id", commentID, "err", err)
		}
	}
	if len(parts) != 1 || parts[0].Text == "" {
		release()
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.instagram.private_reply", "bytes", MaxTextBytes, "letters", MaxTextBytes/2))
	}
	req := sendRequest{Recipient: sendRecipient{CommentID: commentID}, Message: parts[0]}
	var resp sendResponse
	if err := c.Graph.Post(ctx, acct.ID, acct.Token, acct.SendID+"/messages", req, &resp); err != nil {
		if channels.IsPermanent(err) {
			release()
		}
		return channels.SendResult{}, explain(err)
	}
	c.Log.Info("instagram private reply sent", "account", acct.ID, "comment_id", commentID, "outbound", out.ID)
	return channels.SendResult{ChannelMessageID: resp.MessageID}, nil
}

// sendParts sends the parts in order; a retry resumes after the parts already sent.
func (c *Channel) sendParts(ctx context.Context, acct Account, out channels.Outbound, req sendRequest, parts []sendMessage) (channels.SendResult, error) {
	first, err := multipart.Send(ctx, c.RDB, c.progressKey(acct.ID, out.ID), len(parts), func(i int) (string, error) {
		req.Message = parts[i]
		var resp sendResponse
		if err := c.Graph.Post(ctx, acct.ID, acct.Token, acct.SendID+"/messages", req, &resp); err != nil {
			return "", explain(err)
		}
		return resp.MessageID, nil
	})
	return channels.SendResult{ChannelMessageID: first}, err
}

// buildParts turns the outbound text and attachments into Send API messages.
func buildParts(out channels.Outbound) ([]sendMessage, error) {
	var parts []sendMessage
	for _, t := range multipart.Split(out.Text, MaxTextBytes) {
		parts = append(parts, sendMessage{Text: t})
	}
	for _, a := range out.Attachments {
		typ := ""
		switch a.Kind {
		case "image", "video", "audio":
			typ = a.Kind
		case "document", "file":
			typ = "file"
		}
		if typ == "" || !isHTTPURL(a.Ref) {
			return nil, channels.Permanent(locale.Errorf("failure.instagram.attachment", "kind", a.Kind))
		}
		att := &sendAttachment{Type: typ}
		att.Payload.URL = a.Ref
		parts = append(parts, sendMessage{Attachment: att})
	}
	if len(parts) == 0 {
		return nil, channels.Permanent(locale.Errorf("failure.empty"))
	}
	return parts, nil
}

func isHTTPURL(s string) bool {
	return len(s) > 8 && (s[:8] == "https://" || s[:7] == "http://")
}

// explain turns known Instagram Send API errors into messages a manager understands.
func explain(err error) error {
	var ge *meta.GraphError
	if !errors.As(err, &ge) || !channels.IsPermanent(err) {
		return err
	}
	switch {
	case ge.Code == 10 && ge.Subcode == 2018278, ge.Code == 10 && ge.Subcode == 2534022:
		return channels.Permanent(locale.Wrap(ge, "failure.instagram.refused_window", "detail", ge.Error()))
	case ge.Code == 551, ge.Subcode == 1545041:
		return channels.Permanent(locale.Wrap(ge, "failure.instagram.unavailable", "detail", ge.Error()))
	case ge.Code == 100 && ge.Subcode == 2018001:
		return channels.Permanent(locale.Wrap(ge, "failure.instagram.no_user", "detail", ge.Error()))
	}
	return err
}
