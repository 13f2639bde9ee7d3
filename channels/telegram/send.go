package telegram

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/multipart"
)

// Telegram's size limits.
const (
	maxText    = 4096
	maxCaption = 1024
	sentTTL    = 7 * 24 * time.Hour
)

var _ channels.Sender = (*Channel)(nil)

// Send delivers an outbound message: text by sendMessage (split at 4096 characters),
// attachments by file_id (sendPhoto, sendDocument, ...), the text as caption of a single
// attachment when it fits. The result is remembered by Outbound.ID, so a retry after a
// crash does not send it twice.
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	b := c.bots[out.Account]
	if b == nil && out.Account == "" && len(c.order) == 1 {
		b = c.bots[c.order[0]]
	}
	if b == nil {
		return channels.SendResult{}, channels.Permanentf("no Telegram bot named %q is configured", out.Account)
	}
	chatID, err := strconv.ParseInt(out.ContactID, 10, 64)
	if err != nil {
		return channels.SendResult{}, channels.Permanentf("invalid Telegram chat id")
	}
	name := b.cfg.Name
	sentKey := c.d.Keys.Channel(channels.Telegram, name, "sent:"+out.ID)
	if out.ID != "" {
		if id, err := c.d.Redis.Get(ctx, sentKey).Result(); err == nil {
			return channels.SendResult{ChannelMessageID: sentMessageID(chatID, id)}, nil
		} else if !errors.Is(err, redis.Nil) {
			return channels.SendResult{}, err
		}
	}
	first, err := c.sendParts(ctx, b.client, chatID, out, c.d.Keys.Channel(channels.Telegram, name, "progress:"+out.ID))
	if err != nil {
		err = c.classify(ctx, name, err)
		switch {
		case channels.IsPermanent(err):
			c.m.sends.WithLabelValues(name, sendPermanent).Inc()
		case isRetryAfter(err):
			c.m.sends.WithLabelValues(name, sendRetryAfter).Inc()
		default:
			c.m.sends.WithLabelValues(name, sendError).Inc()
		}
		c.d.Log.Warn("telegram send failed", "bot", name, "outbound_id", out.ID, "err", err)
		return channels.SendResult{}, err
	}
	c.m.sends.WithLabelValues(name, sendOK).Inc()
	res := channels.SendResult{ChannelMessageID: MessageID(chatID, first)}
	if out.ID != "" {
		// Only the message id: the chat id (personal data) is not kept where erasure does not look.
		if err := c.d.Redis.Set(ctx, sentKey, strconv.Itoa(first), sentTTL).Err(); err != nil {
			c.d.Log.Warn("telegram: could not remember a sent message", "bot", name, "outbound_id", out.ID, "err", err)
		}
	}
	return res, nil
}

// sendParts sends the text and attachments; it returns the first message id. The progress
// of a message in several parts is kept under progressKey, so a retry after a failure in the
// middle resumes with the first unsent part instead of sending the others again.
func (c *Channel) sendParts(ctx context.Context, cl *Client, chatID int64, out channels.Outbound, progressKey string) (int, error) {
	text := out.Text
	var msgs []tgbotapi.Chattable
	caption := ""
	// a sticker has no caption, and an attachment without a file_id is skipped: either way
	// the text goes as a message of its own
	if len(out.Attachments) == 1 && out.Attachments[0].Ref != "" && out.Attachments[0].Kind != "sticker" &&
		utf8.RuneCountInString(text) <= maxCaption {
		caption, text = text, ""
	}
	for _, chunk := range splitText(text, maxText) {
		msgs = append(msgs, tgbotapi.NewMessage(chatID, chunk))
	}
	for _, a := range out.Attachments {
		if a.Ref == "" {
			continue
		}
		msgs = append(msgs, mediaMessage(chatID, a, caption))
	}
	if len(msgs) == 0 {
		return 0, channels.Permanentf("empty message")
	}
	send := func(i int) (string, error) {
		sent, err := cl.Send(ctx, chatID, msgs[i])
		if err != nil {
			return "", err
		}
		return strconv.Itoa(sent.MessageID), nil
	}
	if out.ID == "" { // nothing to resume by: one pass
		first := 0
		for i := range msgs {
			id, err := send(i)
			if err != nil {
				return first, err
			}
			if first == 0 {
				first, _ = strconv.Atoi(id)
			}
		}
		return first, nil
	}
	id, err := multipart.Send(ctx, c.d.Redis, progressKey, len(msgs), send)
	first, _ := strconv.Atoi(id)
	return first, err
}

// mediaMessage sends an attachment by file_id with the method matching its kind.
func mediaMessage(chatID int64, a channels.Attachment, caption string) tgbotapi.Chattable {
	f := tgbotapi.FileID(a.Ref)
	switch a.Kind {
	case "image":
		m := tgbotapi.NewPhoto(chatID, f)
		m.Caption = caption
		return m
	case "video":
		m := tgbotapi.NewVideo(chatID, f)
		m.Caption = caption
		return m
	case "audio":
		m := tgbotapi.NewAudio(chatID, f)
		m.Caption = caption
		return m
	case "voice":
		m := tgbotapi.NewVoice(chatID, f)
		m.Caption = caption
		return m
	case "sticker":
		return tgbotapi.NewSticker(chatID, f)
	default:
		m := tgbotapi.NewDocument(chatID, f)
		m.Caption = caption
		return m
	}
}

// splitText cuts s into pieces of at most n characters, preferring line breaks.
func splitText(s string, n int) []string {
	s = strings.TrimSpace(s)
	var out []string
	for s != "" {
		if utf8.RuneCountInString(s) <= n {
			out = append(out, s)
			break
		}
		cut := 0
		for i := range s {
			if utf8.RuneCountInString(s[:i]) > n {
				break
			}
			cut = i
		}
		if nl := strings.LastIndexByte(s[:cut], '\n'); nl > cut/2 {
			cut = nl
		}
		out = append(out, strings.TrimSpace(s[:cut]))
		s = strings.TrimSpace(s[cut:])
	}
	return out
}

// classify maps a Bot API failure to the Sender error classes. The texts are shown to the
// manager who wrote the reply: they never contain the token or the message.
func (c *Channel) classify(ctx context.Context, bot string, err error) error {
	e := APIError(err)
	if e == nil {
		if channels.IsPermanent(err) {
			return err
		}
		return errors.New("telegram: " + err.Error())
	}
	desc := strings.ToLower(e.Message)
	switch {
	case e.Code == 429 || e.RetryAfter > 0:
		after := time.Duration(max(1, e.RetryAfter)) * time.Second
		return &channels.RetryAfterError{After: after, Err: errors.New("telegram: too many requests")}
	case e.Code == 403:
		return channels.Permanentf("the customer blocked the bot or cannot be written to (Telegram: %s)", e.Message)
	case e.Code == 400 && strings.Contains(desc, "chat not found"):
		return channels.Permanentf("chat not found: the customer has not started this bot or deleted the chat")
	case e.Code == 401 || e.Code == 404:
		if c.d.Alerter != nil {
			_ = c.d.Alerter.Alert(ctx, channels.Telegram, bot, "Telegram rejected the bot token (revoked or mistyped): replies cannot be sent")
		}
		return channels.Permanentf("the Telegram bot token was rejected; the administrators were alerted")
	case e.Code >= 400 && e.Code < 500:
		return channels.Permanentf("Telegram refused the message: %s", e.Message)
	default:
		return errors.New("telegram: temporary error: " + e.Message)
	}
}

func isRetryAfter(err error) bool {
	var r *channels.RetryAfterError
	return errors.As(err, &r)
}

// sentMessageID rebuilds the channel message id of an outbound message already sent from the
// message id kept under its sent: key (older versions kept the whole "<chat>:<message>").
func sentMessageID(chatID int64, stored string) string {
	if strings.Contains(stored, ":") {
		return stored
	}
	n, _ := strconv.Atoi(stored)
	return MessageID(chatID, n)
}
