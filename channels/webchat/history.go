package webchat

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/redis/go-redis/v9"
)

// Every session has a history stream (the visitor's messages and everything sent to them,
// in order) whose entry ids are the SSE event ids, and a hash of dedupe fields (a client
// message id or an outbound id → its entry id; "d:<outbound id>" once delivery was reported).
// Both expire token_ttl after the last event.

//go:embed append.lua
var appendLua string

// appendScript: see append.lua.
var appendScript = redis.NewScript(appendLua)

// Event is one entry of a session's history, as the widget receives it.
type Event struct {
	ID          string       `json:"id"`            // the history entry id (SSE id, resume point)
	Dir         string       `json:"dir"`           // in (the visitor) or out (to the visitor)
	CID         string       `json:"cid,omitempty"` // the widget's client message id (in)
	Kind        string       `json:"kind,omitempty"`
	Text        string       `json:"text,omitempty"`
	Attachments []attachment `json:"attachments,omitempty"`
	At          int64        `json:"at"` // unix ms
	outID       string
}

type attachment struct {
	Kind string `json:"kind"`
	URL  string `json:"url,omitempty"`
	Name string `json:"name,omitempty"`
}

// stored is the event as kept in the stream (the entry id is the stream's).
type stored struct {
	Dir         string       `json:"dir"`
	CID         string       `json:"cid,omitempty"`
	OutID       string       `json:"oid,omitempty"`
	Kind        string       `json:"kind,omitempty"`
	Text        string       `json:"text,omitempty"`
	Attachments []attachment `json:"att,omitempty"`
	At          int64        `json:"at"`
}

// entryIDRE is a Redis stream entry id.
var entryIDRE = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

func (c *Channel) historyKey(sid string) string { return c.keys.Channel(Name, c.cfg.Account, "s:"+sid) }
func (c *Channel) seenKey(sid string) string    { return c.keys.Channel(Name, c.cfg.Account, "seen:"+sid) }

// notifyChannel is the Pub/Sub channel that carries the ids of sessions with a new event.
func (c *Channel) notifyChannel() string { return c.keys.Channel(Name, c.cfg.Account, "notify") }

// appendEvent appends ev to sid's history once per field and returns its entry id.
func (c *Channel) appendEvent(ctx context.Context, sid, field string, ev stored) (string, bool, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return "", false, err
	}
	v, err := appendScript.Run(ctx, c.rdb, []string{c.historyKey(sid), c.seenKey(sid)},
		field, string(b), c.cfg.HistoryLimit, c.cfg.TokenTTL.Milliseconds(), c.notifyChannel(), sid).Slice()
	if err != nil {
		return "", false, err
	}
	if len(v) != 2 {
		return "", false, fmt.Errorf("webchat: append: unexpected reply %v", v)
	}
	id, _ := v[0].(string)
	dup, _ := v[1].(int64)
	c.hub.notify(sid) // this process's streams at once, without waiting for Pub/Sub
	return id, dup == 1, nil
}

// readAfter returns up to n events of sid's history after entry id after ("" or "0": from
// the start).
func (c *Channel) readAfter(ctx context.Context, sid, after string, n int64) ([]Event, error) {
	start := "-"
	if after != "" && after != "0" {
		start = "(" + after
	}
	msgs, err := c.rdb.XRangeN(ctx, c.historyKey(sid), start, "+", n).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["e"].(string)
		var s stored
		if json.Unmarshal([]byte(raw), &s) != nil {
			continue
		}
		out = append(out, Event{ID: m.ID, Dir: s.Dir, CID: s.CID, Kind: s.Kind, Text: s.Text, Attachments: s.Attachments, At: s.At, outID: s.OutID})
	}
	return out, nil
}

// touch renews the TTL of a session's history (a returning visitor).
func (c *Channel) touch(ctx context.Context, sid string) error {
	p := c.rdb.TxPipeline()
	p.PExpire(ctx, c.historyKey(sid), c.cfg.TokenTTL)
	p.PExpire(ctx, c.seenKey(sid), c.cfg.TokenTTL)
	_, err := p.Exec(ctx)
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Forget deletes a session's history and dedupe hash: the visitor's copy of a conversation
// the router erased (on request or at the end of its retention). It is the channel's
// channels.Forgetter hook, called by the router's forget job; deleting what is gone already
// is no error. The contact id of a website chat conversation is its session id. A visitor who
// still holds the token keeps the session, with an empty history.
func (c *Channel) Forget(ctx context.Context, account, contactID string) error {
	if account != c.cfg.Account || !validSID(contactID) {
		return nil // not this chat's session: nothing of it is kept here
	}
	if err := c.rdb.Del(ctx, c.historyKey(contactID), c.seenKey(contactID)).Err(); err != nil {
		return fmt.Errorf("webchat: forget a session: %w", err)
	}
	return nil
}
