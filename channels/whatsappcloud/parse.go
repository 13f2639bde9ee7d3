package whatsappcloud

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/meta"
)

type payload struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      meta.ID  `json:"id"` // WhatsApp Business Account id
	Changes []change `json:"changes"`
}

type change struct {
	Field string `json:"field"`
	Value value  `json:"value"`
}

type value struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string  `json:"display_phone_number"`
		PhoneNumberID      meta.ID `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID meta.ID `json:"wa_id"`
	} `json:"contacts"`
	Messages []message `json:"messages"`
	Statuses []status  `json:"statuses"`
}

type media struct {
	ID       meta.ID `json:"id"`
	MIMEType string  `json:"mime_type"`
	Caption  string  `json:"caption"`
	Filename string  `json:"filename"`
	Voice    bool    `json:"voice"`
}

type message struct {
	From      meta.ID  `json:"from"`
	ID        string   `json:"id"`
	Timestamp meta.Int `json:"timestamp"`
	Type      string   `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Video    *media `json:"video"`
	Audio    *media `json:"audio"`
	Document *media `json:"document"`
	Sticker  *media `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Contacts []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
		Phones []struct {
			Phone string  `json:"phone"`
			WaID  meta.ID `json:"wa_id"`
		} `json:"phones"`
	} `json:"contacts"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Context *struct {
		From meta.ID `json:"from"`
		ID   string  `json:"id"`
	} `json:"context"`
	Referral *struct {
		SourceURL  string  `json:"source_url"`
		SourceID   meta.ID `json:"source_id"`
		SourceType string  `json:"source_type"`
		Headline   string  `json:"headline"`
		CtwaClid   string  `json:"ctwa_clid"`
	} `json:"referral"`
}

type status struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	Timestamp   meta.Int  `json:"timestamp"`
	RecipientID meta.ID   `json:"recipient_id"`
	Errors      []wAError `json:"errors"`
}

type wAError struct {
	Code    meta.Int `json:"code"`
	Title   string   `json:"title"`
	Message string   `json:"message"`
}

// Meta keys set on inbound items.
const (
	MetaType      = "type"       // the WhatsApp message type
	MetaErrorCode = "error_code" // on a failed status: the Cloud API error code
	MetaReplyTo   = "reply_to"   // wamid the customer replied to
	MetaReplyID   = "reply_id"   // id of the chosen interactive button / list row
	MetaPayload   = "payload"    // payload of a template quick-reply button
	MetaReactedTo = "reacted_to" // wamid a reaction is on
)

var errNotWhatsApp = errors.New(`not a WhatsApp Cloud API webhook payload (object must be "whatsapp_business_account")`)

// Parse turns one WhatsApp Cloud API webhook body into inbound items for the phone number
// ids known reports as configured. It never panics.
func Parse(body []byte, known func(phoneNumberID string) bool) (meta.Batch, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return meta.Batch{}, err
	}
	if p.Object != "whatsapp_business_account" {
		return meta.Batch{}, errNotWhatsApp
	}
	var b meta.Batch
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" { // template status updates, account updates, echoes...
				b.Ignored++
				continue
			}
			acct := string(c.Value.Metadata.PhoneNumberID)
			if !known(acct) {
				if acct == "" {
					b.Ignored++
				} else {
					b.UnknownAccounts = append(b.UnknownAccounts, acct)
				}
				continue
			}
			names := map[string]string{}
			for _, ct := range c.Value.Contacts {
				names[string(ct.WaID)] = ct.Profile.Name
			}
			for _, m := range c.Value.Messages {
				addMessage(&b, acct, names, m)
			}
			for _, s := range c.Value.Statuses {
				addStatus(&b, acct, s)
			}
		}
	}
	return b, nil
}

func addMessage(b *meta.Batch, acct string, names map[string]string, m message) {
	from := string(m.From)
	if m.ID == "" || from == "" {
		b.Ignored++
		return
	}
	switch m.Type {
	case "system", "request_welcome", "ephemeral":
		b.Ignored++
		return
	}
	in := channels.Inbound{
		Kind:        channels.KindMessage,
		Channel:     channels.WhatsAppCloud,
		Account:     acct,
		MessageID:   m.ID,
		ContactID:   from,
		DisplayName: names[from],
		Phone:       e164(from),
		SentAt:      meta.Time(int64(m.Timestamp)),
		Meta:        map[string]string{MetaType: m.Type},
	}
	addMedia := func(kind string, md *media) {
		if md == nil {
			return
		}
		if kind == "audio" && md.Voice {
			kind = "voice"
		}
		in.Attachments = append(in.Attachments, channels.Attachment{Kind: kind, Ref: string(md.ID), MIME: md.MIMEType, Name: md.Filename})
		if in.Text == "" {
			in.Text = md.Caption
		}
	}
	switch m.Type {
	case "text":
		if m.Text != nil {
			in.Text = m.Text.Body
		}
	case "image":
		addMedia("image", m.Image)
	case "video":
		addMedia("video", m.Video)
	case "audio":
		addMedia("audio", m.Audio)
	case "document":
		addMedia("document", m.Document)
	case "sticker":
		addMedia("sticker", m.Sticker)
	case "location":
		if l := m.Location; l != nil {
			name := l.Name
			if l.Address != "" {
				name = strings.TrimSpace(name + " " + l.Address)
			}
			in.Attachments = append(in.Attachments, channels.Attachment{Kind: "location",
				Ref:  "geo:" + strconv.FormatFloat(l.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(l.Longitude, 'f', -1, 64),
				Name: name})
		}
	case "contacts":
		for _, ct := range m.Contacts {
			att := channels.Attachment{Kind: "contact", Name: ct.Name.FormattedName}
			if len(ct.Phones) > 0 {
				att.Ref = ct.Phones[0].Phone
			}
			in.Attachments = append(in.Attachments, att)
		}
	case "interactive":
		if it := m.Interactive; it != nil {
			switch {
			case it.ButtonReply != nil:
				in.Text, in.Meta[MetaReplyID] = it.ButtonReply.Title, it.ButtonReply.ID
			case it.ListReply != nil:
				in.Text, in.Meta[MetaReplyID] = it.ListReply.Title, it.ListReply.ID
			}
		}
	case "button":
		if bt := m.Button; bt != nil {
			in.Text, in.Meta[MetaPayload] = bt.Text, bt.Payload
		}
	case "reaction":
		if m.Reaction == nil {
			b.Ignored++
			return
		}
		in.Kind = channels.KindReaction
		in.Text = m.Reaction.Emoji
		in.Meta[MetaReactedTo] = m.Reaction.MessageID
	default:
		// unsupported, order, unknown types: still a customer writing to us, so still a lead;
		// the manager sees that the content could not be shown.
		in.Meta["unsupported"] = "true"
	}
	if m.Context != nil && m.Context.ID != "" {
		in.Meta[MetaReplyTo] = m.Context.ID
	}
	if r := m.Referral; r != nil {
		if r.SourceID != "" {
			in.Meta["ad_id"] = string(r.SourceID)
			in.Source = "whatsapp_ad:" + string(r.SourceID)
		} else if r.SourceURL != "" {
			in.Source = r.SourceURL
		}
		if r.SourceType != "" {
			in.Meta["referral_type"] = r.SourceType
		}
	}
	b.Items = append(b.Items, in)
}

func addStatus(b *meta.Batch, acct string, s status) {
	switch s.Status {
	case "sent", "delivered", "read", "failed":
	default: // deleted, warning, played...
		b.Ignored++
		return
	}
	if s.ID == "" {
		b.Ignored++
		return
	}
	in := channels.Inbound{
		Kind:      channels.KindStatus,
		Channel:   channels.WhatsAppCloud,
		Account:   acct,
		MessageID: s.ID + ":" + s.Status,
		ContactID: string(s.RecipientID),
		SentAt:    meta.Time(int64(s.Timestamp)),
		Meta:      map[string]string{"ref": s.ID, "status": s.Status},
	}
	if len(s.Errors) > 0 {
		e := s.Errors[0]
		msg := e.Title
		if msg == "" {
			msg = e.Message
		}
		if msg == "" {
			msg = "delivery failed"
		}
		in.Meta["error"] = meta.SafeText(msg+" (WhatsApp error "+strconv.FormatInt(int64(e.Code), 10)+")", "")
		in.Meta[MetaErrorCode] = strconv.FormatInt(int64(e.Code), 10)
	} else if s.Status == "failed" {
		in.Meta["error"] = "delivery failed"
	}
	b.Items = append(b.Items, in)
}

// e164 turns a wa_id (country code and number, digits only) into +E.164; "" if it is not digits.
func e164(waID string) string {
	if len(waID) < 7 || len(waID) > 15 {
		return ""
	}
	for _, r := range waID {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return "+" + waID
}
