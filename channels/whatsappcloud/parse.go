package whatsappcloud

import (
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/locale"
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
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"profile"`
		WaID   meta.ID `json:"wa_id"`
		UserID meta.ID `json:"user_id"` // business-scoped user id (BSUID)
	} `json:"contacts"`
	Messages []message `json:"messages"`
	Statuses []status  `json:"statuses"`
	// Errors are webhook-level: Meta could not process something for the app or account.
	Errors []wAError `json:"errors"`
}

type media struct {
	ID       meta.ID `json:"id"`
	MIMEType string  `json:"mime_type"`
	Caption  string  `json:"caption"`
	Filename string  `json:"filename"`
	Voice    bool    `json:"voice"`
}

type message struct {
	From       meta.ID  `json:"from"`         // the sender's phone number; omitted for a user with a username
	FromUserID meta.ID  `json:"from_user_id"` // the sender's business-scoped user id
	GroupID    string   `json:"group_id"`     // set when the message was written in a group
	ID         string   `json:"id"`
	Timestamp  meta.Int `json:"timestamp"`
	Type       string   `json:"type"`
	Text       *struct {
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
		NfmReply *struct { // a WhatsApp Flow answer or an address message
			Name         string `json:"name"`
			Body         string `json:"body"`
			ResponseJSON string `json:"response_json"`
		} `json:"nfm_reply"`
		CallPermissionReply *struct {
			Response            string   `json:"response"` // accept, reject
			ExpirationTimestamp meta.Int `json:"expiration_timestamp"`
			ResponseSource      string   `json:"response_source"`
		} `json:"call_permission_reply"`
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
	Revoke *struct {
		OriginalMessageID string `json:"original_message_id"`
	} `json:"revoke"`
	Edit *struct {
		OriginalMessageID string   `json:"original_message_id"`
		Message           *message `json:"message"` // the new content (type and its object)
	} `json:"edit"`
	// Errors: the message could not be shown (unsupported types, interactive replies
	// carrying only an error).
	Errors   []wAError `json:"errors"`
	Referral *struct {
		SourceURL  string  `json:"source_url"`
		SourceID   meta.ID `json:"source_id"`
		SourceType string  `json:"source_type"`
		Headline   string  `json:"headline"`
		CtwaClid   string  `json:"ctwa_clid"`
	} `json:"referral"`
}

type status struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	Timestamp       meta.Int  `json:"timestamp"`
	RecipientID     meta.ID   `json:"recipient_id"`
	RecipientUserID meta.ID   `json:"recipient_user_id"` // when the message went to a business-scoped user id
	Errors          []wAError `json:"errors"`
}

type wAError struct {
	Code      meta.Int `json:"code"`
	Title     string   `json:"title"`
	Message   string   `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// text is a short description of the error, safe to show and log.
func (e wAError) text() string {
	msg := e.Title
	if msg == "" {
		msg = e.Message
	}
	if msg == "" {
		msg = "error"
	}
	return meta.SafeText(msg+" (WhatsApp error "+strconv.FormatInt(int64(e.Code), 10)+")", "")
}

// Meta keys set on inbound items.
const (
	MetaType      = "type"       // the WhatsApp message type
	MetaErrorCode = "error_code" // on a failed status: the Cloud API error code
	MetaReplyTo   = "reply_to"   // wamid the customer replied to
	MetaReplyID   = "reply_id"   // id of the chosen interactive button / list row
	MetaPayload   = "payload"    // payload of a template quick-reply button
	MetaReactedTo = "reacted_to" // wamid a reaction is on
	MetaUserID    = "user_id"    // the sender's business-scoped user id (BSUID)
	MetaUsername  = "username"   // the sender's WhatsApp username
	MetaGroupID   = "group_id"   // the group a message was written in (allow_groups)
	// MetaParticipant is who wrote in the group (phone or user id).
	MetaParticipant    = "participant"
	MetaInteractive    = "interactive_type" // type of an interactive reply (nfm_reply, call_permission_reply...)
	MetaCallPermission = "call_permission"  // accept or reject
	// GroupContactPrefix starts the contact id of a group (allow_groups): replies go to it.
	GroupContactPrefix = "group:"
)

// ParseOptions are the config choices that change what Parse keeps.
type ParseOptions struct {
	AllowGroups bool // keep messages written in groups (the group is the contact)
}

var errNotWhatsApp = errors.New(`not a WhatsApp Cloud API webhook payload (object must be "whatsapp_business_account")`)

// Parse turns one WhatsApp Cloud API webhook body into inbound items for the phone number
// ids known reports as configured. It never panics.
func Parse(body []byte, known func(phoneNumberID string) bool, opts ParseOptions) (meta.Batch, error) {
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
			for _, er := range c.Value.Errors {
				text := er.text()
				if d := er.ErrorData.Details; d != "" {
					text += ": " + meta.SafeText(d, "")
				}
				if acct != "" {
					text = "phone number " + acct + ": " + text
				}
				b.Errors = append(b.Errors, text)
			}
			if !known(acct) {
				if acct == "" {
					b.Ignored++
				} else {
					b.UnknownAccounts = append(b.UnknownAccounts, acct)
				}
				continue
			}
			people := map[string]person{}
			for _, ct := range c.Value.Contacts {
				p := person{name: ct.Profile.Name, username: ct.Profile.Username}
				if ct.WaID != "" {
					people[string(ct.WaID)] = p
				}
				if ct.UserID != "" {
					people[string(ct.UserID)] = p
				}
			}
			for _, m := range c.Value.Messages {
				addMessage(&b, acct, people, m, opts)
			}
			for _, s := range c.Value.Statuses {
				addStatus(&b, acct, s)
			}
		}
	}
	return b, nil
}

// person is what the contacts array says about a sender.
type person struct{ name, username string }

func addMessage(b *meta.Batch, acct string, people map[string]person, m message, opts ParseOptions) {
	// The sender: the phone number when Meta shares it, else the business-scoped user id.
	from, userID := string(m.From), string(m.FromUserID)
	sender := from
	if sender == "" {
		sender = userID
	}
	if m.ID == "" || sender == "" {
		b.Ignored++
		return
	}
	switch m.Type {
	case "system", "request_welcome", "ephemeral":
		b.Ignored++
		return
	}
	if m.GroupID != "" && !opts.AllowGroups {
		b.Ignored++ // a group chat, not a customer writing to us (allow_groups keeps them)
		return
	}
	who := people[sender]
	if who == (person{}) && userID != "" {
		who = people[userID]
	}
	in := channels.Inbound{
		Kind:        channels.KindMessage,
		Channel:     channels.WhatsAppCloud,
		Account:     acct,
		MessageID:   m.ID,
		ContactID:   sender,
		DisplayName: who.name,
		Phone:       e164(from),
		SentAt:      meta.Time(int64(m.Timestamp)),
		Meta:        map[string]string{MetaType: m.Type},
	}
	if userID != "" {
		in.Meta[MetaUserID] = userID
	}
	if who.username != "" {
		in.Meta[MetaUsername] = who.username
	}
	if m.GroupID != "" {
		// The group is the contact: replies go to the group, the writer is kept.
		in.ContactID = GroupContactPrefix + m.GroupID
		in.Phone = ""
		in.Meta[MetaGroupID] = m.GroupID
		in.Meta[MetaParticipant] = sender
	}
	switch m.Type {
	case "revoke":
		// The customer deleted an earlier message: it is marked deleted in the transcript.
		if m.Revoke == nil || m.Revoke.OriginalMessageID == "" {
			b.Ignored++
			return
		}
		in.Kind = channels.KindDelete
		in.Meta["deleted_id"] = m.Revoke.OriginalMessageID
	case "edit":
		// The customer edited an earlier message: the new text or caption replaces it.
		if m.Edit == nil || m.Edit.OriginalMessageID == "" || m.Edit.Message == nil {
			b.Ignored++
			return
		}
		in.Kind = channels.KindEdit
		in.Meta["edited_id"] = m.Edit.OriginalMessageID
		content(&in, *m.Edit.Message)
	case "reaction":
		if m.Reaction == nil {
			b.Ignored++
			return
		}
		in.Kind = channels.KindReaction
		in.Text = m.Reaction.Emoji
		in.Meta[MetaReactedTo] = m.Reaction.MessageID
		if in.Text == "" { // Meta reports a removed reaction as one without emoji
			note(&in, locale.M("line.reaction_removed"))
			in.Meta["removed"] = "true"
		}
	default:
		content(&in, m)
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

// content fills the text and attachments of in from a message's typed content. What cannot
// be shown is still a customer writing to us (still a lead): it is marked unsupported, with
// the reason when Meta gives one.
func content(in *channels.Inbound, m message) {
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
	unsupported := func(reason string) {
		in.Meta["unsupported"] = "true"
		if reason != "" {
			in.Meta["unsupported_reason"] = reason
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
			if it.Type != "" {
				in.Meta[MetaInteractive] = it.Type
			}
			switch {
			case it.ButtonReply != nil:
				in.Text, in.Meta[MetaReplyID] = it.ButtonReply.Title, it.ButtonReply.ID
			case it.ListReply != nil:
				in.Text, in.Meta[MetaReplyID] = it.ListReply.Title, it.ListReply.ID
			case it.NfmReply != nil:
				nfm := it.NfmReply
				fields, token := flowFields(nfm.ResponseJSON)
				in.Text = fields
				if token != "" {
					in.Meta["flow_token"] = token
				}
				if nfm.Name != "" {
					in.Meta["nfm_name"] = nfm.Name
				}
				if in.Text == "" && nfm.Body != "" && nfm.Body != "Sent" {
					in.Text = nfm.Body
				}
			case it.CallPermissionReply != nil:
				r := it.CallPermissionReply.Response
				in.Meta[MetaCallPermission] = r
				switch r {
				case "accept":
					note(in, locale.M("line.call_permission.accepted"))
				case "reject":
					note(in, locale.M("line.call_permission.rejected"))
				default:
					note(in, locale.M("line.call_permission.answer", "answer", r))
				}
			}
		}
	case "button":
		if bt := m.Button; bt != nil {
			in.Text, in.Meta[MetaPayload] = bt.Text, bt.Payload
		}
	}
	if in.Text == "" && len(in.Attachments) == 0 {
		// unsupported, order, unknown types, interactive replies carrying only an error
		reason := ""
		if len(m.Errors) > 0 {
			reason = m.Errors[0].text()
		} else if m.Type != "unsupported" && m.Type != "" {
			reason = "WhatsApp message type " + strconv.Quote(m.Type) + " is not shown by the gateway"
		}
		unsupported(reason)
	}
}

// flowFields renders a Flow's response_json (a flat JSON object, or an address message's
// {"values": {...}}) as "field: value" lines sorted by field, without the flow_token, which is
// returned apart. A value that is not a string is written as JSON.
func flowFields(raw string) (text, token string) {
	var obj map[string]json.RawMessage
	if raw == "" || json.Unmarshal([]byte(raw), &obj) != nil {
		return "", ""
	}
	if v, ok := obj["values"]; ok && len(obj) == 1 {
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil {
			obj = inner
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		v := obj[k]
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		if k == "flow_token" {
			token = s
			continue
		}
		lines = append(lines, k+": "+s)
	}
	return strings.Join(lines, "\n"), token
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
	recipient := string(s.RecipientID)
	if recipient == "" {
		recipient = string(s.RecipientUserID)
	}
	in := channels.Inbound{
		Kind:      channels.KindStatus,
		Channel:   channels.WhatsAppCloud,
		Account:   acct,
		MessageID: s.ID + ":" + s.Status,
		ContactID: recipient,
		SentAt:    meta.Time(int64(s.Timestamp)),
		Meta:      map[string]string{"ref": s.ID, "status": s.Status},
	}
	if len(s.Errors) > 0 {
		e := s.Errors[0]
		if e.Title == "" && e.Message == "" {
			e.Title = "delivery failed"
		}
		in.Meta["error"] = e.text()
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

// note sets a line the channel writes itself: English in Text (logs, the API), the catalogue
// message in Note (the staff bot shows it in the reader's language).
func note(in *channels.Inbound, m locale.Msg) {
	in.Text, in.Note = m.String(), m.Encode()
}
