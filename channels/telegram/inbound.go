package telegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/nyaruka/phonenumbers"

	"github.com/lidorub/lidorub/channels"
)

// Why an update produced no Inbound (metric label values).
const (
	skipGroup       = "group"       // a group message and the bot does not allow groups
	skipUnsupported = "unsupported" // channel posts, inline queries, polls, service messages...
	skipBot         = "from_bot"    // written by a bot
)

// errNoUpdateID marks a result element whose update_id cannot be read.
var errNoUpdateID = errors.New("update has no update_id")

// decodeUpdate decodes one element of a getUpdates result (or a webhook body). It returns the
// update id whenever it can be read, even if the rest is malformed, so the poller can skip it.
func decodeUpdate(raw []byte) (tgbotapi.Update, int64, error) {
	var head struct {
		UpdateID *int64 `json:"update_id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return tgbotapi.Update{}, 0, fmt.Errorf("%w: %v", errNoUpdateID, err)
	}
	if head.UpdateID == nil {
		return tgbotapi.Update{}, 0, errNoUpdateID
	}
	var u tgbotapi.Update
	if err := json.Unmarshal(raw, &u); err != nil {
		return u, *head.UpdateID, err
	}
	return u, *head.UpdateID, nil
}

// MessageID is the dedupe id of a Telegram message: "<chat_id>:<message_id>".
func MessageID(chatID int64, messageID int) string {
	return strconv.FormatInt(chatID, 10) + ":" + strconv.Itoa(messageID)
}

// mapUpdate turns an update into an Inbound. ok=false with a reason when it is not for us.
func mapUpdate(bot string, allowGroups bool, u *tgbotapi.Update) (in channels.Inbound, ok bool, reason string) {
	m, kind := u.Message, channels.KindMessage
	if m == nil && u.EditedMessage != nil {
		m, kind = u.EditedMessage, channels.KindEdit
	}
	if m == nil || m.Chat == nil {
		return in, false, skipUnsupported
	}
	if m.Chat.Type != "private" && !allowGroups {
		return in, false, skipGroup
	}
	if m.Chat.Type == "channel" {
		return in, false, skipUnsupported
	}
	if m.From != nil && m.From.IsBot {
		return in, false, skipBot
	}
	in = channels.Inbound{
		Kind:      kind,
		Channel:   channels.Telegram,
		Account:   bot,
		MessageID: MessageID(m.Chat.ID, m.MessageID),
		ContactID: strconv.FormatInt(m.Chat.ID, 10),
		Text:      m.Text,
		SentAt:    time.Unix(int64(m.Date), 0).UTC(),
		Meta:      map[string]string{"update_id": strconv.Itoa(u.UpdateID)},
	}
	if m.From != nil {
		in.DisplayName = strings.TrimSpace(m.From.FirstName + " " + m.From.LastName)
		if m.From.UserName != "" {
			in.Meta["username"] = m.From.UserName
		}
		if m.From.LanguageCode != "" {
			in.Meta["language"] = m.From.LanguageCode
		}
		in.Meta["user_id"] = strconv.FormatInt(m.From.ID, 10)
	}
	if m.Chat.Type != "private" {
		in.Meta["chat_type"] = m.Chat.Type
		if m.Chat.Title != "" {
			in.Meta["chat_title"] = m.Chat.Title
		}
	}
	if kind == channels.KindEdit {
		in.Meta["edited_id"] = in.MessageID
		in.MessageID += ":e" + strconv.Itoa(m.EditDate)
	}
	if in.Text == "" {
		in.Text = m.Caption
	}
	if m.ReplyToMessage != nil {
		in.Meta["reply_to"] = MessageID(m.Chat.ID, m.ReplyToMessage.MessageID)
	}
	if cmd, args, isCmd := Command(m); kind == channels.KindMessage && isCmd && cmd == "start" {
		if args != "" {
			in.Source = args
			in.Meta["start_payload"] = args
		}
		in.Text = "/start"
	}
	in.Attachments = attachments(m)
	// Only the customer's own card (user_id = the sender) is their phone; a card of someone
	// else (another user, or a phone-book entry without user_id) stays an attachment.
	if c := m.Contact; c != nil && m.From != nil && c.UserID != 0 && c.UserID == m.From.ID {
		if p := E164(c.PhoneNumber); strings.HasPrefix(p, "+") {
			in.Phone = p
		}
	}
	if in.Text == "" && len(in.Attachments) == 0 {
		return in, false, skipUnsupported
	}
	return in, true, ""
}

// Attachments returns the media of a message as attachment references (file_id, mime, size).
func Attachments(m *tgbotapi.Message) []channels.Attachment { return attachments(m) }

func attachments(m *tgbotapi.Message) []channels.Attachment {
	var out []channels.Attachment
	if len(m.Photo) > 0 {
		p := m.Photo[len(m.Photo)-1] // the largest size comes last
		out = append(out, channels.Attachment{Kind: "image", Ref: p.FileID, MIME: "image/jpeg", Size: int64(p.FileSize)})
	}
	switch {
	case m.Animation != nil:
		a := m.Animation
		out = append(out, channels.Attachment{Kind: "video", Ref: a.FileID, MIME: a.MimeType, Size: int64(a.FileSize), Name: a.FileName})
	case m.Document != nil:
		d := m.Document
		out = append(out, channels.Attachment{Kind: "document", Ref: d.FileID, MIME: d.MimeType, Size: int64(d.FileSize), Name: d.FileName})
	}
	if v := m.Voice; v != nil {
		out = append(out, channels.Attachment{Kind: "voice", Ref: v.FileID, MIME: v.MimeType, Size: int64(v.FileSize)})
	}
	if v := m.Video; v != nil {
		out = append(out, channels.Attachment{Kind: "video", Ref: v.FileID, MIME: v.MimeType, Size: int64(v.FileSize), Name: v.FileName})
	}
	if v := m.VideoNote; v != nil {
		out = append(out, channels.Attachment{Kind: "video", Ref: v.FileID, MIME: "video/mp4", Size: int64(v.FileSize)})
	}
	if a := m.Audio; a != nil {
		out = append(out, channels.Attachment{Kind: "audio", Ref: a.FileID, MIME: a.MimeType, Size: int64(a.FileSize), Name: a.FileName})
	}
	if s := m.Sticker; s != nil {
		mime := "image/webp"
		if s.IsAnimated {
			mime = "application/x-tgsticker"
		}
		out = append(out, channels.Attachment{Kind: "sticker", Ref: s.FileID, MIME: mime, Size: int64(s.FileSize), Name: s.Emoji})
	}
	if c := m.Contact; c != nil {
		out = append(out, channels.Attachment{Kind: "contact", Ref: E164(c.PhoneNumber),
			Name: strings.TrimSpace(c.FirstName + " " + c.LastName)})
	}
	if l := m.Location; l != nil && m.Venue == nil {
		out = append(out, channels.Attachment{Kind: "location", Ref: fmt.Sprintf("%.6f,%.6f", l.Latitude, l.Longitude)})
	}
	if v := m.Venue; v != nil {
		out = append(out, channels.Attachment{Kind: "location",
			Ref: fmt.Sprintf("%.6f,%.6f", v.Location.Latitude, v.Location.Longitude), Name: v.Title})
	}
	return out
}

// E164 formats a phone number shared through Telegram as E.164 where the country is known:
// a number starting with "+", or international digits without "+" (how Telegram sends a
// user's own number). Anything else (a national format from a phone book, whose country is
// unknown) and a number that does not parse are returned trimmed, as they came.
func E164(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	try := s
	if !strings.HasPrefix(try, "+") {
		if strings.Trim(try, "0123456789") != "" {
			return s // formatted without a country code: the country is unknown
		}
		try = "+" + try
	}
	if n, err := phonenumbers.Parse(try, "ZZ"); err == nil && phonenumbers.IsPossibleNumber(n) {
		return phonenumbers.Format(n, phonenumbers.E164)
	}
	return s
}

// Command returns a message's bot command ("start" for "/start@shop_bot payload") and its
// arguments. It does not use the library's Command/CommandArguments, which slice the text by
// the entity's length and panic on a malformed update (found by FuzzUpdate).
func Command(m *tgbotapi.Message) (cmd, args string, ok bool) {
	if m == nil || !m.IsCommand() || !strings.HasPrefix(m.Text, "/") {
		return "", "", false
	}
	word, rest, _ := strings.Cut(m.Text[1:], " ")
	word, _, _ = strings.Cut(word, "@")
	if word == "" {
		return "", "", false
	}
	return word, strings.TrimSpace(rest), true
}
