package email

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
)

// threadTTL: a contact's thread state and our sent Message-IDs are kept this long.
const threadTTL = 90 * 24 * time.Hour

// threads keeps, per mailbox and contact, what a reply needs to land in the customer's
// thread (the last Message-ID and References) and the Message-IDs of our own messages (a
// customer's answer to one names it in In-Reply-To / References). The contact's key is named
// by its pseudonym and holds only message ids; the subject travels in the conversation's
// meta (erased with it).
type threads struct {
	rdb  redis.UniversalClient
	keys channels.Keys
}

// thread is the state of one contact's thread.
type thread struct {
	LastID string   // the customer's last Message-ID (In-Reply-To of our reply)
	Refs   []string // References of our reply
}

func (t *threads) key(mailbox, contact string) string {
	return t.keys.Channel(Name, mailbox, "thread:"+t.keys.Pseudonym(contact)) // no address in key names
}

func (t *threads) sentKey(mailbox, id string) string {
	return t.keys.Channel(Name, mailbox, "sent:"+id)
}

// noteInbound records a customer's message as the head of their thread and, when it
// answers one of our messages, names that message's conversation in meta
// ("reply_to_conversation").
func (t *threads) noteInbound(ctx context.Context, mailbox, contact string, m *Mail, meta map[string]string) error {
	ids := append(append([]string{}, m.InReplyTo...), m.References...)
	if len(ids) > 0 {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = t.sentKey(mailbox, id)
		}
		vals, err := t.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return err
		}
		for _, v := range vals {
			if s, ok := v.(string); ok && s != "" {
				meta["reply_to_conversation"] = s
				break
			}
		}
	}
	refs := m.References
	if len(refs) == 0 && len(m.InReplyTo) > 0 {
		refs = m.InReplyTo[:1]
	}
	fields := map[string]any{}
	if !strings.HasPrefix(m.MessageID, "h:") {
		refs = appendRef(refs, m.MessageID)
		fields["id"] = m.MessageID
	} else {
		fields["id"] = ""
	}
	fields["refs"] = strings.Join(refs, " ")
	k := t.key(mailbox, contact)
	_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, fields)
		p.PExpire(ctx, k, threadTTL)
		return nil
	})
	return err
}

// get returns the contact's thread (zero when none is known).
func (t *threads) get(ctx context.Context, mailbox, contact string) (thread, error) {
	v, err := t.rdb.HMGet(ctx, t.key(mailbox, contact), "id", "refs").Result()
	if err != nil {
		return thread{}, err
	}
	s := func(x any) string { y, _ := x.(string); return y }
	return thread{LastID: s(v[0]), Refs: strings.Fields(s(v[1]))}, nil
}

// noteSent records one of our messages: its id answers to conversation convID, and it
// joins the thread's References.
func (t *threads) noteSent(ctx context.Context, mailbox, contact, id, convID string, th thread) error {
	k := t.key(mailbox, contact)
	_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, t.sentKey(mailbox, id), convID, threadTTL)
		p.HSet(ctx, k, "refs", strings.Join(appendRef(th.Refs, id), " "))
		p.PExpire(ctx, k, threadTTL)
		return nil
	})
	return err
}

// appendRef adds id to refs (once), keeping the newest maxRefs.
func appendRef(refs []string, id string) []string {
	out := make([]string, 0, len(refs)+1)
	for _, r := range refs {
		if r != id {
			out = append(out, r)
		}
	}
	out = append(out, id)
	if len(out) > maxRefs {
		out = append(out[:1:1], out[len(out)-maxRefs+1:]...) // keep the thread's root
	}
	return out
}
