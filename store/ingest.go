package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
)

// DefaultDedupeTTL is how long an inbound id is remembered: longer than Meta's WhatsApp
// retry window (7 days).
const DefaultDedupeTTL = 8 * 24 * time.Hour

// ingestScript deduplicates and appends in one step, so a retried webhook never creates a
// second entry and a crash between "seen" and "stored" cannot happen.
//
//	KEYS[1] dedupe marker   KEYS[2] inbound stream
//	ARGV[1] marker TTL (ms) ARGV[2] payload (JSON of channels.Inbound)
//	returns {entry id, 0} when stored, {original entry id, 1} for a duplicate
//
//go:embed ingest.lua
var ingestLua string
var ingestScript = redis.NewScript(ingestLua)

// IngestObserver is told about every ingested item (metrics). May be nil.
type IngestObserver interface {
	Ingested(channel string, duplicate bool)
}

// Ingest is the channels.Ingester backed by the inbound stream.
type Ingest struct {
	rdb      redis.UniversalClient
	keys     Keys
	clock    clock.Clock
	observer IngestObserver
}

// NewIngest returns an Ingester. observer may be nil.
func NewIngest(rdb redis.UniversalClient, keys Keys, clk clock.Clock, observer IngestObserver) *Ingest {
	return &Ingest{rdb: rdb, keys: keys, clock: clk, observer: observer}
}

var _ channels.Ingester = (*Ingest)(nil)

// ErrInvalidInbound is returned for an Inbound missing its identity.
var ErrInvalidInbound = errors.New("inbound item needs channel, message id and contact id")

// Ingest stores in durably, once per (Channel, Account, MessageID).
func (g *Ingest) Ingest(ctx context.Context, in channels.Inbound) (channels.IngestResult, error) {
	if in.Channel == "" || in.MessageID == "" || (in.ContactID == "" && in.Kind != channels.KindStatus) {
		return channels.IngestResult{}, ErrInvalidInbound
	}
	if in.Kind == "" {
		in.Kind = channels.KindMessage
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = g.clock.Now()
	}
	ttl := in.DedupeTTL
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	// At least 1 ms: "SET ... PX 0" fails inside the script after the XADD, which would
	// report an error for an item that was stored (and the retry would store it again).
	ttlMs := max(ttl.Milliseconds(), 1)
	payload, err := json.Marshal(in)
	if err != nil {
		return channels.IngestResult{}, fmt.Errorf("encode inbound: %w", err)
	}
	res, err := ingestScript.Run(ctx, g.rdb,
		[]string{g.keys.Dedupe(in.Channel, in.Account, in.MessageID), g.keys.Inbound()},
		strconv.FormatInt(ttlMs, 10), payload).Slice()
	if err != nil {
		return channels.IngestResult{}, fmt.Errorf("store inbound: %w", err)
	}
	id, _ := res[0].(string)
	dup, _ := res[1].(int64)
	if g.observer != nil {
		g.observer.Ingested(in.Channel, dup == 1)
	}
	return channels.IngestResult{EntryID: id, Duplicate: dup == 1}, nil
}

// DecodeInbound decodes the payload of an inbound stream entry.
func DecodeInbound(values map[string]any) (channels.Inbound, error) {
	var in channels.Inbound
	s, ok := values["m"].(string)
	if !ok {
		return in, errors.New("inbound entry has no payload field")
	}
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return in, fmt.Errorf("decode inbound entry: %w", err)
	}
	return in, nil
}
