package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Keys builds every Redis key the gateway uses. Keys share a hash tag per group of data
// that one Lua script touches, so each script stays inside one Redis Cluster slot:
//
//	{P:in}:inbound                    inbound stream (channels -> router)
//	{P:in}:dedupe:<channel>:<acct>:<ps>  dedupe marker of one inbound item (value: stream entry id);
//	                                  <ps> = Pseudonym(message id): Telegram ids hold the chat id,
//	                                  the form's content id a hash of the phone
//	{P}:salt                          the deployment's pseudonym salt (see LoadSalt)
//	{P}:...                           router state: conversations, managers, queue, timers,
//	                                  outbound and events streams (see router/keys.go)
//	{P:ch:<channel>:<acct>}:<name>    a channel account's own state (polling offset, lease, windows)
//	{P:lease}:<name>                  leases of singleton workers
//
// P is the configured prefix (default "lidorub").
//
// No key name may carry personal data (a phone, a chat id, a user id) that outlives the
// conversation it belongs to: erasure and retention delete conversations, not keys they cannot
// find. A key that is about one contact (a messaging window, a dedupe marker) names the
// contact by Pseudonym, a keyed hash with the deployment's salt.
type Keys struct {
	Prefix string
	salt   string
	macs   *sync.Pool // keyed HMAC-SHA256 states for Pseudonym (nil: one per call)
}

// NewKeys returns the key builder for prefix ("" means "lidorub").
func NewKeys(prefix string) Keys {
	if prefix == "" {
		prefix = "lidorub"
	}
	return Keys{Prefix: prefix}
}

// SaltKey is where the deployment's pseudonym salt is kept: {P}:salt.
func (k Keys) SaltKey() string { return "{" + k.Prefix + "}:salt" }

// WithSalt returns k with the pseudonym salt set (LoadSalt reads it from Redis).
func (k Keys) WithSalt(salt string) Keys {
	k.salt = salt
	key := []byte(salt)
	k.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	return k
}

// Pseudonym returns a stable, non-reversible name for a personal identifier (a contact id, a
// message id that embeds a chat id) to use inside key names: the first 128 bits of
// HMAC-SHA256 keyed by the deployment's salt, in hex. Without the salt (it lives in Redis,
// never in logs or config) enumerating phone numbers or chat ids does not find the key.
func (k Keys) Pseudonym(id string) string {
	var buf [2 * pseudonymBytes]byte
	return string(k.appendPseudonym(buf[:0], id))
}

// pseudonymBytes is how much of the HMAC a pseudonym keeps.
const pseudonymBytes = 16

// appendPseudonym appends Pseudonym(id) to b.
func (k Keys) appendPseudonym(b []byte, id string) []byte {
	var m hash.Hash
	if k.macs != nil { // a keyed state from the pool: Reset brings it back to the key
		m = k.macs.Get().(hash.Hash)
		m.Reset()
		defer k.macs.Put(m)
	} else {
		m = hmac.New(sha256.New, []byte(k.salt))
	}
	_, _ = io.WriteString(m, id)
	var sum [sha256.Size]byte
	return hex.AppendEncode(b, m.Sum(sum[:0])[:pseudonymBytes])
}

// LoadSalt returns k with the deployment's pseudonym salt: the value of {P}:salt, created
// with 32 random bytes by the first process that starts (SET NX, so every instance agrees).
// Losing it (a flushed Redis) only orphans dedupe markers and windows, which a flush loses too.
func LoadSalt(ctx context.Context, rdb redis.UniversalClient, k Keys) (Keys, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return k, fmt.Errorf("pseudonym salt: %w", err)
	}
	if err := rdb.SetNX(ctx, k.SaltKey(), hex.EncodeToString(b), 0).Err(); err != nil {
		return k, fmt.Errorf("pseudonym salt: %w", err)
	}
	salt, err := rdb.Get(ctx, k.SaltKey()).Result()
	if err != nil {
		return k, fmt.Errorf("pseudonym salt: %w", err)
	}
	return k.WithSalt(salt), nil
}

func (k Keys) in() string {
	var sb strings.Builder
	k.writeIn(&sb)
	return sb.String()
}

// writeIn writes in() to sb.
func (k Keys) writeIn(sb *strings.Builder) {
	sb.WriteString("{")
	sb.WriteString(k.Prefix)
	sb.WriteString(":in}")
}

// Inbound is the inbound stream.
func (k Keys) Inbound() string { return k.in() + ":inbound" }

// Dedupe is the dedupe marker of one inbound item. It shares the inbound stream's slot. The
// message id is pseudonymised: a Telegram id is "<chat id>:<message id>", the form's content
// id a hash of the phone and the text.
func (k Keys) Dedupe(channel, account, messageID string) string {
	var sb strings.Builder // one allocation: the key
	sb.Grow(len(k.Prefix) + len(channel) + len(account) + 2*pseudonymBytes + 16)
	k.writeIn(&sb)
	sb.WriteString(":dedupe:")
	sb.WriteString(channel)
	sb.WriteByte(':')
	sb.WriteString(account)
	sb.WriteByte(':')
	var buf [2 * pseudonymBytes]byte
	sb.Write(k.appendPseudonym(buf[:0], messageID))
	return sb.String()
}

// Core returns a key in the router's slot: {P}:part1:part2...
func (k Keys) Core(parts ...string) string {
	return "{" + k.Prefix + "}:" + strings.Join(parts, ":")
}

// Channel returns a key for a channel account's own state; all keys of one account share a slot.
func (k Keys) Channel(channel, account, name string) string {
	return "{" + k.Prefix + ":ch:" + channel + ":" + account + "}:" + name
}

// Lease returns the key of a named lease.
func (k Keys) Lease(name string) string { return "{" + k.Prefix + ":lease}:" + name }

// DeadLetter returns the dead-letter stream of a stream (same slot).
func DeadLetter(stream string) string { return stream + ":dead" }

// DeadLetterMaxLen caps a dead-letter stream (oldest dropped first): it is for inspection by
// ops (lidorub_stream_dead_letter alerts on it), not an archive.
const DeadLetterMaxLen = 100000
