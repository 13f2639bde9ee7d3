package instagram

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/meta"
)

// Meta keys set on inbound items (and expected back on Outbound.Meta).
const (
	MetaOrigin           = "origin"             // "comment" or "direct"
	MetaCommentID        = "comment_id"         // the comment a comment lead came from
	MetaMediaID          = "media_id"           // the post / reel / ad the comment is on
	MetaMediaProductType = "media_product_type" // FEED, REELS, AD, STORY
	MetaParentID         = "parent_id"          // the comment this comment answers
	MetaReplyToStory     = "reply_to_story"     // story id (or URL) a DM replied to
	MetaReplyTo          = "reply_to"           // message id a DM replied to
	MetaPostbackPayload  = "postback_payload"   // payload of a tapped ice breaker / button
)

type payload struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID        meta.ID     `json:"id"`
	Time      meta.Int    `json:"time"`
	Messaging []messaging `json:"messaging"`
	Changes   []change    `json:"changes"`
}

type party struct {
	ID       meta.ID `json:"id"`
	Username string  `json:"username"`
}

type messaging struct {
	Sender      party        `json:"sender"`
	Recipient   party        `json:"recipient"`
	Timestamp   meta.Int     `json:"timestamp"`
	Message     *message     `json:"message"`
	Reaction    *reaction    `json:"reaction"`
	Read        *read        `json:"read"`
	MessageEdit *messageEdit `json:"message_edit"`
	Postback    *postback    `json:"postback"`
	Referral    any          `json:"referral"`
}

type message struct {
	Mid           string       `json:"mid"`
	Text          string       `json:"text"`
	IsEcho        bool         `json:"is_echo"`
	IsDeleted     bool         `json:"is_deleted"`
	IsUnsupported bool         `json:"is_unsupported"`
	Attachments   []attachment `json:"attachments"`
	ReplyTo       *struct {
		Mid   string `json:"mid"`
		Story *struct {
			URL string  `json:"url"`
			ID  meta.ID `json:"id"`
		} `json:"story"`
	} `json:"reply_to"`
	QuickReply *struct {
		Payload string `json:"payload"`
	} `json:"quick_reply"`
	Referral *referral `json:"referral"`
}

type attachment struct {
	Type    string `json:"type"`
	Payload struct {
		URL         string  `json:"url"`
		Title       string  `json:"title"`
		ReelVideoID meta.ID `json:"reel_video_id"`
	} `json:"payload"`
}

type referral struct {
	Ref    string  `json:"ref"`
	AdID   meta.ID `json:"ad_id"`
	Source string  `json:"source"`
	Type   string  `json:"type"`
}

type reaction struct {
	Mid      string `json:"mid"`
	Action   string `json:"action"` // react, unreact
	Reaction string `json:"reaction"`
	Emoji    string `json:"emoji"`
}

// postback is a tap on an ice breaker, Get Started or a template button.
type postback struct {
	Mid     string `json:"mid"`
	Title   string `json:"title"`
	Payload string `json:"payload"`
}

type read struct {
	Mid string `json:"mid"`
}

type messageEdit struct {
	Mid     string   `json:"mid"`
	Text    string   `json:"text"`
	NumEdit meta.Int `json:"num_edit"`
}

type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type comment struct {
	ID       meta.ID `json:"id"`
	Text     string  `json:"text"`
	ParentID meta.ID `json:"parent_id"`
	From     party   `json:"from"`
	Media    struct {
		ID               meta.ID `json:"id"`
		MediaProductType string  `json:"media_product_type"`
	} `json:"media"`
}

// errNotInstagram is returned for a body that is not an Instagram webhook payload.
var errNotInstagram = errors.New(`not an Instagram webhook payload (object must be "instagram")`)

// Parse turns one Instagram webhook body into inbound items for the accounts known reports
// as configured. Comments create leads only when comments is true. It never panics.
func Parse(body []byte, known func(account string) bool, comments bool) (meta.Batch, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return meta.Batch{}, err
	}
	if p.Object != "instagram" {
		return meta.Batch{}, errNotInstagram
	}
	var b meta.Batch
	for _, e := range p.Entry {
		acct := string(e.ID)
		if !known(acct) {
			if acct == "" {
				b.Ignored++
			} else {
				b.UnknownAccounts = append(b.UnknownAccounts, acct)
			}
			continue
		}
		for _, m := range e.Messaging {
			addMessaging(&b, acct, m)
		}
		for _, c := range e.Changes {
			switch c.Field {
			case "comments", "live_comments":
				if !comments {
					b.Ignored++
					continue
				}
				var cm comment
				if json.Unmarshal(c.Value, &cm) != nil {
					b.Ignored++
					continue
				}
				addComment(&b, acct, int64(e.Time), cm)
			case "messages", "message_reactions", "messaging_seen", "message_edit", "messaging_postbacks", "messaging_referral":
				// The Instagram Login webhooks (and the dashboard's test button) wrap a
				// messaging item in a change.
				var m messaging
				if json.Unmarshal(c.Value, &m) != nil {
					b.Ignored++
					continue
				}
				addMessaging(&b, acct, m)
			default: // mentions, story_insights, ...
				b.Ignored++
			}
		}
	}
	return b, nil
}

func addMessaging(b *meta.Batch, acct string, m messaging) {
	sender := string(m.Sender.ID)
	// Anything sent by the business itself (echoes of our sends or of answers typed in
	// the Instagram app, its own reactions) is not a customer's action.
	if sender == "" || sender == acct {
		b.Ignored++
		return
	}
	at := meta.Time(int64(m.Timestamp))
	base := channels.Inbound{Channel: channels.Instagram, Account: acct, ContactID: sender, SentAt: at}
	switch {
	case m.Message != nil:
		msg := m.Message
		if msg.IsEcho || msg.IsDeleted || msg.Mid == "" {
			b.Ignored++
			return
		}
		in := base
		in.Kind = channels.KindMessage
		in.MessageID = msg.Mid
		in.Text = msg.Text
		in.Meta = map[string]string{MetaOrigin: "direct"}
		for _, a := range msg.Attachments {
			in.Attachments = append(in.Attachments, convertAttachment(a))
		}
		if r := msg.ReplyTo; r != nil {
			if r.Story != nil {
				ref := string(r.Story.ID)
				if ref == "" {
					ref = r.Story.URL
				}
				in.Meta[MetaReplyToStory] = ref
				in.Attachments = append(in.Attachments, channels.Attachment{Kind: "story", Ref: r.Story.URL})
			} else if r.Mid != "" {
				in.Meta[MetaReplyTo] = r.Mid
			}
		}
		if msg.QuickReply != nil && msg.QuickReply.Payload != "" {
			in.Meta["quick_reply"] = msg.QuickReply.Payload
		}
		if msg.IsUnsupported {
			in.Meta["unsupported"] = "true"
		}
		if r := msg.Referral; r != nil {
			if r.AdID != "" {
				in.Meta["ad_id"] = string(r.AdID)
				in.Source = "instagram_ad:" + string(r.AdID)
			}
			if r.Ref != "" {
				in.Meta["ref"] = r.Ref
				if in.Source == "" {
					in.Source = r.Ref
				}
			}
		}
		b.Items = append(b.Items, in)
	case m.Reaction != nil:
		r := m.Reaction
		if r.Mid == "" {
			b.Ignored++
			return
		}
		in := base
		in.Kind = channels.KindReaction
		in.MessageID = "reaction:" + r.Mid + ":" + sender + ":" + r.Action + ":" + strconv.FormatInt(int64(m.Timestamp), 10)
		in.Text = r.Emoji
		if in.Text == "" {
			in.Text = r.Reaction
		}
		in.Meta = map[string]string{"reacted_to": r.Mid, "action": r.Action}
		b.Items = append(b.Items, in)
	case m.MessageEdit != nil:
		e := m.MessageEdit
		if e.Mid == "" {
			b.Ignored++
			return
		}
		in := base
		in.Kind = channels.KindEdit
		in.MessageID = e.Mid + ":edit:" + strconv.FormatInt(int64(e.NumEdit), 10)
		in.Text = e.Text
		in.Meta = map[string]string{"edited_id": e.Mid}
		b.Items = append(b.Items, in)
	case m.Read != nil && m.Read.Mid != "":
		// The customer read one of our messages: a delivery status, never a lead.
		in := base
		in.Kind = channels.KindStatus
		in.MessageID = m.Read.Mid + ":read"
		in.Meta = map[string]string{"ref": m.Read.Mid, "status": "read"}
		b.Items = append(b.Items, in)
	case m.Postback != nil:
		// An ice breaker or Get Started tap is the customer opening the chat: a lead whose
		// text is what they tapped (a button tap later in a chat continues it).
		p := m.Postback
		in := base
		in.Kind = channels.KindMessage
		in.MessageID = p.Mid
		if in.MessageID == "" {
			in.MessageID = "postback:" + sender + ":" + strconv.FormatInt(int64(m.Timestamp), 10)
		}
		in.Text = p.Title
		if in.Text == "" {
			in.Text = p.Payload
		}
		in.Meta = map[string]string{MetaOrigin: "direct"}
		if p.Payload != "" {
			in.Meta[MetaPostbackPayload] = p.Payload
		}
		if in.Text == "" {
			b.Ignored++
			return
		}
		b.Items = append(b.Items, in)
	default: // standalone referrals, reads without mid
		b.Ignored++
	}
}

func convertAttachment(a attachment) channels.Attachment {
	kind := a.Type
	switch a.Type {
	case "file":
		kind = "document"
	case "ig_reel", "reel":
		kind = "reel"
	case "ig_post":
		kind = "post"
	case "template", "fallback":
		kind = "share"
	}
	ref := a.Payload.URL
	if ref == "" && a.Payload.ReelVideoID != "" {
		ref = string(a.Payload.ReelVideoID)
	}
	return channels.Attachment{Kind: kind, Ref: ref, Name: a.Payload.Title}
}

func addComment(b *meta.Batch, acct string, entryTime int64, c comment) {
	from := string(c.From.ID)
	if c.ID == "" || from == "" || from == acct {
		// our own comments (public answers) are not leads
		b.Ignored++
		return
	}
	in := channels.Inbound{
		Kind:        channels.KindMessage,
		Channel:     channels.Instagram,
		Account:     acct,
		MessageID:   string(c.ID),
		ContactID:   from,
		DisplayName: c.From.Username,
		Text:        c.Text,
		SentAt:      meta.Time(entryTime),
		NoAutoReply: true,
		Meta: map[string]string{
			MetaOrigin:    "comment",
			MetaCommentID: string(c.ID),
		},
	}
	if c.Media.ID != "" {
		in.Meta[MetaMediaID] = string(c.Media.ID)
		in.Source = "instagram_media:" + string(c.Media.ID)
	}
	if c.Media.MediaProductType != "" {
		in.Meta[MetaMediaProductType] = c.Media.MediaProductType
	}
	if c.ParentID != "" {
		in.Meta[MetaParentID] = string(c.ParentID)
	}
	b.Items = append(b.Items, in)
}
