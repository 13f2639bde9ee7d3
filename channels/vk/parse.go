package vk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// Callback types (https://dev.vk.com/ru/api/community-events/json-schema).
const (
	TypeConfirmation = "confirmation"
	TypeMessageNew   = "message_new"
	TypeMessageReply = "message_reply"
	TypeMessageEdit  = "message_edit"
	TypeMessageAllow = "message_allow"
	TypeMessageDeny  = "message_deny"
)

// chatPeerBase: peer ids from 2000000000 up are group chats, not a customer's dialog.
const chatPeerBase = 2000000000

// Callback is one Callback API body.
type Callback struct {
	Type    string          `json:"type"`
	GroupID int64           `json:"group_id"`
	EventID string          `json:"event_id"`
	V       string          `json:"v"`
	Secret  string          `json:"secret"`
	Object  json.RawMessage `json:"object"`
}

// Message is a VK message object (https://dev.vk.com/ru/reference/objects/message).
type Message struct {
	ID                    int64             `json:"id"`
	Date                  int64             `json:"date"` // unix seconds
	PeerID                int64             `json:"peer_id"`
	FromID                int64             `json:"from_id"`
	Out                   int               `json:"out"`
	Text                  string            `json:"text"`
	ConversationMessageID int64             `json:"conversation_message_id"`
	Attachments           []json.RawMessage `json:"attachments"`
	Payload               string            `json:"payload"`
	Ref                   string            `json:"ref"`
	RefSource             string            `json:"ref_source"`
	Geo                   *struct {
		Coordinates struct {
			Latitude  float64 `json:"latitude"`
			Longitude float64 `json:"longitude"`
		} `json:"coordinates"`
		Place *struct {
			Title string `json:"title"`
		} `json:"place"`
	} `json:"geo"`
}

// messageNew is message_new's object (API 5.103+).
type messageNew struct {
	Message    *Message `json:"message"`
	ClientInfo *struct {
		LangID int `json:"lang_id"`
	} `json:"client_info"`
}

// permission is message_allow's / message_deny's object.
type permission struct {
	UserID int64  `json:"user_id"`
	Key    string `json:"key"`
}

// ErrNotCallback: the body is not a Callback API body (no type).
var ErrNotCallback = errors.New("not a VK callback")

// Decode reads one callback body.
func Decode(body []byte) (*Callback, error) {
	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCallback, err)
	}
	if cb.Type == "" {
		return nil, ErrNotCallback
	}
	return &cb, nil
}

// Permission is the user a message_allow or message_deny is about (0: none).
func (cb *Callback) Permission() int64 {
	if cb.Type != TypeMessageAllow && cb.Type != TypeMessageDeny {
		return 0
	}
	var p permission
	if json.Unmarshal(cb.Object, &p) != nil || p.UserID <= 0 {
		return 0
	}
	return p.UserID
}

// Parse reads a callback of community account whose secret was checked: the item to ingest
// for a customer's new or edited message, none for anything else. It never panics (fuzzed);
// an error means the body is not a callback.
func Parse(body []byte, account string) (*Callback, []channels.Inbound, error) {
	cb, err := Decode(body)
	if err != nil {
		return nil, nil, err
	}
	var m *Message
	switch cb.Type {
	case TypeMessageNew:
		var o messageNew
		if json.Unmarshal(cb.Object, &o) != nil {
			return cb, nil, nil
		}
		m = o.Message
		if m == nil {
			// Before API 5.103 the object is the message itself.
			if json.Unmarshal(cb.Object, &m) != nil || m == nil {
				return cb, nil, nil
			}
		}
	case TypeMessageEdit:
		if json.Unmarshal(cb.Object, &m) != nil || m == nil {
			return cb, nil, nil
		}
	default:
		return cb, nil, nil
	}
	// Only a customer's own dialog with the community: not the community's messages (out),
	// not group chats, not other communities.
	if m.Out != 0 || m.FromID <= 0 || m.PeerID <= 0 || m.PeerID >= chatPeerBase || m.FromID != m.PeerID {
		return cb, nil, nil
	}
	in := channels.Inbound{Kind: channels.KindMessage, Channel: Name, Account: account,
		ContactID: strconv.FormatInt(m.PeerID, 10), Text: m.Text, Attachments: attachments(m), Meta: map[string]string{}}
	if m.Date > 0 {
		in.SentAt = time.Unix(m.Date, 0).UTC()
	}
	if cb.EventID != "" {
		in.Meta["event_id"] = truncate(cb.EventID, 64)
	}
	if m.Payload != "" {
		in.Meta["payload"] = truncate(m.Payload, 256)
	}
	if m.Ref != "" {
		in.Source = truncate(m.Ref, 256)
		in.Meta["ref"] = in.Source
		if m.RefSource != "" {
			in.Meta["ref_source"] = truncate(m.RefSource, 256)
		}
	}
	msgID := ""
	if m.ID > 0 {
		msgID = strconv.FormatInt(m.ID, 10)
	}
	if cb.Type == TypeMessageEdit {
		// One message may be edited many times: each edit is its own event.
		if msgID == "" || cb.EventID == "" {
			return cb, nil, nil
		}
		in.Kind, in.MessageID = channels.KindEdit, "edit:"+truncate(cb.EventID, 64)
		in.Meta["edited_id"] = msgID
	} else {
		// The message id (not the event id) is the dedupe key, so that a later edit finds the
		// message; VK's retries of one event carry the same message.
		in.MessageID = msgID
		if in.MessageID == "" {
			if cb.EventID == "" {
				return cb, nil, nil
			}
			in.MessageID = "event:" + truncate(cb.EventID, 64)
		}
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Attachments) == 0 {
		if in.Kind != channels.KindEdit {
			return cb, nil, nil
		}
	}
	return cb, []channels.Inbound{in}, nil
}

// attachment shapes (https://dev.vk.com/ru/reference/objects/attachments-message).
type attachment struct {
	Type  string `json:"type"`
	Photo *struct {
		ID      int64 `json:"id"`
		OwnerID int64 `json:"owner_id"`
		Sizes   []struct {
			URL    string `json:"url"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"sizes"`
		OrigPhoto *struct {
			URL string `json:"url"`
		} `json:"orig_photo"`
	} `json:"photo"`
	Video *struct {
		ID      int64  `json:"id"`
		OwnerID int64  `json:"owner_id"`
		Title   string `json:"title"`
	} `json:"video"`
	Audio *struct {
		URL    string `json:"url"`
		Title  string `json:"title"`
		Artist string `json:"artist"`
	} `json:"audio"`
	Doc *struct {
		Title string `json:"title"`
		URL   string `json:"url"`
		Size  int64  `json:"size"`
		Ext   string `json:"ext"`
	} `json:"doc"`
	AudioMessage *struct {
		LinkOgg string `json:"link_ogg"`
		LinkMp3 string `json:"link_mp3"`
	} `json:"audio_message"`
	Sticker *struct {
		StickerID int64 `json:"sticker_id"`
		Images    []struct {
			URL string `json:"url"`
		} `json:"images"`
	} `json:"sticker"`
	Link *struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"link"`
	Wall *struct {
		ID      int64 `json:"id"`
		FromID  int64 `json:"from_id"`
		OwnerID int64 `json:"owner_id"`
	} `json:"wall"`
}

func attachments(m *Message) []channels.Attachment {
	var out []channels.Attachment
	for _, raw := range m.Attachments {
		var a attachment
		if json.Unmarshal(raw, &a) != nil {
			continue
		}
		switch {
		case a.Type == "photo" && a.Photo != nil:
			best, area := "", -1
			for _, s := range a.Photo.Sizes {
				if s.Width*s.Height > area && s.URL != "" {
					best, area = s.URL, s.Width*s.Height
				}
			}
			if best == "" && a.Photo.OrigPhoto != nil {
				best = a.Photo.OrigPhoto.URL
			}
			if best == "" {
				best = fmt.Sprintf("photo%d_%d", a.Photo.OwnerID, a.Photo.ID)
			}
			out = append(out, channels.Attachment{Kind: "image", Ref: best})
		case a.Type == "video" && a.Video != nil:
			out = append(out, channels.Attachment{Kind: "video", Ref: fmt.Sprintf("video%d_%d", a.Video.OwnerID, a.Video.ID), Name: a.Video.Title})
		case a.Type == "audio" && a.Audio != nil:
			out = append(out, channels.Attachment{Kind: "audio", Ref: a.Audio.URL, Name: strings.TrimSpace(a.Audio.Artist + " – " + a.Audio.Title)})
		case a.Type == "doc" && a.Doc != nil:
			out = append(out, channels.Attachment{Kind: "document", Ref: a.Doc.URL, Name: a.Doc.Title, Size: max(a.Doc.Size, 0)})
		case a.Type == "audio_message" && a.AudioMessage != nil:
			ref := a.AudioMessage.LinkMp3
			if ref == "" {
				ref = a.AudioMessage.LinkOgg
			}
			out = append(out, channels.Attachment{Kind: "voice", Ref: ref})
		case a.Type == "sticker" && a.Sticker != nil:
			ref := fmt.Sprintf("sticker:%d", a.Sticker.StickerID)
			if n := len(a.Sticker.Images); n > 0 && a.Sticker.Images[n-1].URL != "" {
				ref = a.Sticker.Images[n-1].URL
			}
			out = append(out, channels.Attachment{Kind: "sticker", Ref: ref})
		case a.Type == "link" && a.Link != nil:
			out = append(out, channels.Attachment{Kind: "share", Ref: a.Link.URL, Name: a.Link.Title})
		case a.Type == "wall" && a.Wall != nil:
			owner := a.Wall.OwnerID
			if owner == 0 {
				owner = a.Wall.FromID
			}
			out = append(out, channels.Attachment{Kind: "share", Ref: fmt.Sprintf("wall%d_%d", owner, a.Wall.ID)})
		case a.Type != "":
			out = append(out, channels.Attachment{Kind: truncate(a.Type, 32)})
		}
	}
	if g := m.Geo; g != nil {
		lat, lon := g.Coordinates.Latitude, g.Coordinates.Longitude
		if lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
			a := channels.Attachment{Kind: "location", Ref: strconv.FormatFloat(lat, 'f', -1, 64) + "," + strconv.FormatFloat(lon, 'f', -1, 64)}
			if g.Place != nil {
				a.Name = g.Place.Title
			}
			out = append(out, a)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
