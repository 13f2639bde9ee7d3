package store

import "strings"

// Keys builds every Redis key the gateway uses. Keys share a hash tag per group of data
// that one Lua script touches, so each script stays inside one Redis Cluster slot:
//
//	{P:in}:inbound                    inbound stream (channels -> router)
//	{P:in}:dedupe:<channel>:<acct>:<id>  dedupe marker of one inbound item (value: stream entry id)
//	{P}:...                           router state: conversations, managers, queue, timers,
//	                                  outbound and events streams (see router/keys.go)
//	{P:ch:<channel>:<acct>}:<name>    a channel account's own state (polling offset, lease, windows)
//	{P:lease}:<name>                  leases of singleton workers
//
// P is the configured prefix (default "lidorub").
type Keys struct{ Prefix string }

// NewKeys returns the key builder for prefix ("" means "lidorub").
func NewKeys(prefix string) Keys {
	if prefix == "" {
		prefix = "lidorub"
	}
	return Keys{Prefix: prefix}
}

func (k Keys) in() string { return "{" + k.Prefix + ":in}" }

// Inbound is the inbound stream.
func (k Keys) Inbound() string { return k.in() + ":inbound" }

// Dedupe is the dedupe marker of one inbound item. It shares the inbound stream's slot.
func (k Keys) Dedupe(channel, account, messageID string) string {
	return k.in() + ":dedupe:" + channel + ":" + account + ":" + messageID
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
