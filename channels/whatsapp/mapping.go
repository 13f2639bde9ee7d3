package whatsapp

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
)

// Reasons an event is not ingested (label values of lidorub_whatsapp_ignored_total).
const (
	ignoreGroup       = "group"       // group chat or broadcast list, allow_groups off
	ignoreStatus      = "status"      // status@broadcast (stories)
	ignoreFromMe      = "from_me"     // written from the phone or another linked device
	ignoreChat        = "chat"        // newsletter, bot or other non-user chat
	ignoreUnsupported = "unsupported" // protocol message or a content type we do not map
)

var ignoreReasons = []string{ignoreGroup, ignoreStatus, ignoreFromMe, ignoreChat, ignoreUnsupported}

// mapper turns whatsmeow events into Inbound items for one account.
type mapper struct {
	account     string
	allowGroups bool
	allowFromMe bool
	// pnForLID resolves a LID to a phone JID (the device store's LID map); may be nil.
	pnForLID func(ctx context.Context, lid types.JID) (types.JID, error)
}

// message maps a message event. A non-empty reason means "acknowledge and drop".
func (m mapper) message(ctx context.Context, evt *events.Message, now time.Time) (channels.Inbound, string) {
	info := evt.Info
	chat := info.Chat
	switch {
	case chat == types.StatusBroadcastJID:
		return channels.Inbound{}, ignoreStatus
	case chat.Server == types.NewsletterServer, info.Sender.IsBot():
		return channels.Inbound{}, ignoreChat
	case info.IsFromMe && !m.allowFromMe:
		return channels.Inbound{}, ignoreFromMe
	case (info.IsGroup || chat.Server == types.GroupServer || chat.Server == types.BroadcastServer) && !m.allowGroups:
		return channels.Inbound{}, ignoreGroup
	}

	// The customer: the sender, or for our own messages in a private chat, the chat.
	peer, alt := info.Sender, info.SenderAlt
	if info.IsFromMe && !info.IsGroup {
		peer, alt = chat, info.RecipientAlt
	}
	peer, alt = peer.ToNonAD(), alt.ToNonAD()
	var pn, lid types.JID
	switch peer.Server {
	case types.DefaultUserServer:
		pn = peer
		if alt.Server == types.HiddenUserServer {
			lid = alt
		}
	case types.HiddenUserServer:
		lid = peer
		if alt.Server == types.DefaultUserServer {
			pn = alt
		} else if m.pnForLID != nil {
			if found, err := m.pnForLID(ctx, lid); err == nil && found.Server == types.DefaultUserServer {
				pn = found.ToNonAD()
			}
		}
	default:
		return channels.Inbound{}, ignoreChat
	}

	in := channels.Inbound{
		Kind:        channels.KindMessage,
		Channel:     channels.WhatsApp,
		Account:     m.account,
		MessageID:   info.ID,
		DisplayName: info.PushName,
		SentAt:      info.Timestamp,
		ReceivedAt:  now,
		Meta:        map[string]string{},
	}
	if info.IsFromMe {
		in.DisplayName = ""
		in.Meta["from_me"] = "true"
	}
	if !pn.IsEmpty() {
		in.ContactID = pn.User
		in.Phone = "+" + pn.User
	} else {
		in.ContactID = lid.String() // replies can be sent to the LID itself
	}
	if !lid.IsEmpty() {
		in.Meta["lid"] = lid.User
	}
	if info.IsGroup || chat.Server == types.BroadcastServer {
		in.Meta["chat"] = chat.String()
	}

	msg := evt.Message
	switch {
	case msg.GetProtocolMessage() != nil:
		pm := msg.GetProtocolMessage()
		if pm.GetType() != waE2E.ProtocolMessage_MESSAGE_EDIT || pm.GetEditedMessage() == nil {
			return channels.Inbound{}, ignoreUnsupported
		}
		in.Kind = channels.KindEdit
		in.Meta["edited_id"] = pm.GetKey().GetID()
		msg = pm.GetEditedMessage()
	case msg.GetReactionMessage() != nil:
		r := msg.GetReactionMessage()
		in.Kind = channels.KindReaction
		in.Text = r.GetText()
		in.Meta["reacted_id"] = r.GetKey().GetID()
		if r.GetText() == "" {
			in.Meta["removed"] = "true"
		}
		return finish(in), ""
	}
	in.Text, in.Attachments = content(msg, info.ID)
	if in.Text == "" && len(in.Attachments) == 0 {
		return channels.Inbound{}, ignoreUnsupported
	}
	if evt.IsViewOnce {
		in.Meta["view_once"] = "true"
	}
	return finish(in), ""
}

func finish(in channels.Inbound) channels.Inbound {
	if len(in.Meta) == 0 {
		in.Meta = nil
	}
	return in
}

// content extracts the text and attachment references of a message. Media is referenced by
// the WhatsApp message id (downloading needs the whole message, kept by WhatsApp for a while).
func content(msg *waE2E.Message, id string) (string, []channels.Attachment) {
	var texts []string
	var atts []channels.Attachment
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			texts = append(texts, s)
		}
	}
	media := func(kind, mime string, size uint64, name string) {
		atts = append(atts, channels.Attachment{Kind: kind, Ref: id, MIME: mime, Size: int64(size), Name: name})
	}
	add(msg.GetConversation())
	add(msg.GetExtendedTextMessage().GetText())
	if m := msg.GetImageMessage(); m != nil {
		add(m.GetCaption())
		media("image", m.GetMimetype(), m.GetFileLength(), "")
	}
	if m := msg.GetVideoMessage(); m != nil {
		add(m.GetCaption())
		media("video", m.GetMimetype(), m.GetFileLength(), "")
	}
	if m := msg.GetPtvMessage(); m != nil { // round video note
		media("video", m.GetMimetype(), m.GetFileLength(), "")
	}
	if m := msg.GetAudioMessage(); m != nil {
		kind := "audio"
		if m.GetPTT() {
			kind = "voice"
		}
		media(kind, m.GetMimetype(), m.GetFileLength(), "")
	}
	if m := msg.GetDocumentMessage(); m != nil {
		add(m.GetCaption())
		name := m.GetFileName()
		if name == "" {
			name = m.GetTitle()
		}
		media("document", m.GetMimetype(), m.GetFileLength(), name)
	}
	if m := msg.GetStickerMessage(); m != nil {
		media("sticker", m.GetMimetype(), m.GetFileLength(), "")
	}
	if m := msg.GetLocationMessage(); m != nil {
		atts = append(atts, channels.Attachment{Kind: "location",
			Ref:  geoURI(m.GetDegreesLatitude(), m.GetDegreesLongitude()),
			Name: joinNonEmpty(", ", m.GetName(), m.GetAddress())})
	}
	if m := msg.GetLiveLocationMessage(); m != nil {
		add(m.GetCaption())
		atts = append(atts, channels.Attachment{Kind: "location",
			Ref: geoURI(m.GetDegreesLatitude(), m.GetDegreesLongitude()), Name: "live location"})
	}
	if m := msg.GetContactMessage(); m != nil {
		atts = append(atts, contactAttachment(m))
	}
	for _, c := range msg.GetContactsArrayMessage().GetContacts() {
		atts = append(atts, contactAttachment(c))
	}
	return strings.Join(texts, "\n"), atts
}

func geoURI(lat, long float64) string {
	return "geo:" + strconv.FormatFloat(lat, 'f', -1, 64) + "," + strconv.FormatFloat(long, 'f', -1, 64)
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

var (
	vcardWAID = regexp.MustCompile(`(?i)waid=(\d+)`)
	vcardTel  = regexp.MustCompile(`(?im)^TEL[^:\r\n]*:([+\d][\d\s\-().]*)`)
)

// contactAttachment maps a shared contact card: the name, and its first phone number as a
// tel: URI (WhatsApp puts the number's WhatsApp id in waid=).
func contactAttachment(c *waE2E.ContactMessage) channels.Attachment {
	a := channels.Attachment{Kind: "contact", Name: c.GetDisplayName(), MIME: "text/vcard"}
	v := c.GetVcard()
	if m := vcardWAID.FindStringSubmatch(v); m != nil {
		a.Ref = "tel:+" + m[1]
	} else if m := vcardTel.FindStringSubmatch(v); m != nil {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == '+' {
				return r
			}
			return -1
		}, m[1])
		if digits != "" {
			a.Ref = "tel:" + digits
		}
	}
	return a
}

// receiptStatus maps a receipt type to an outbound status ("" = not one we track).
func receiptStatus(t types.ReceiptType) string {
	switch t {
	case types.ReceiptTypeDelivered:
		return "delivered"
	case types.ReceiptTypeRead, types.ReceiptTypePlayed:
		return "read"
	}
	return ""
}

// receipt maps a delivery/read receipt of our messages to status items, one per message id.
// Receipts from our own other devices and unknown types give nothing.
func (m mapper) receipt(evt *events.Receipt, now time.Time) []channels.Inbound {
	status := receiptStatus(evt.Type)
	if status == "" || evt.IsFromMe {
		return nil
	}
	if (evt.IsGroup || evt.Chat.Server == types.BroadcastServer) && !m.allowGroups {
		return nil
	}
	contact := ""
	if c := evt.Chat.ToNonAD(); c.Server == types.DefaultUserServer {
		contact = c.User
	} else if c.Server == types.HiddenUserServer {
		if alt := evt.SenderAlt.ToNonAD(); alt.Server == types.DefaultUserServer {
			contact = alt.User
		} else {
			contact = c.String()
		}
	}
	out := make([]channels.Inbound, 0, len(evt.MessageIDs))
	for _, id := range evt.MessageIDs {
		out = append(out, channels.Inbound{
			Kind:       channels.KindStatus,
			Channel:    channels.WhatsApp,
			Account:    m.account,
			MessageID:  "receipt:" + id + ":" + status,
			ContactID:  contact,
			Meta:       map[string]string{"ref": id, "status": status},
			SentAt:     evt.Timestamp,
			ReceivedAt: now,
		})
	}
	return out
}
