package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

var t0 = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)

// ingestObserver counts Ingested calls per channel.
type ingestObserver struct {
	mu     sync.Mutex
	stored map[string]int
	dups   map[string]int
}

func newIngestObserver() *ingestObserver {
	return &ingestObserver{stored: map[string]int{}, dups: map[string]int{}}
}

func (o *ingestObserver) Ingested(channel string, duplicate bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if duplicate {
		o.dups[channel]++
	} else {
		o.stored[channel]++
	}
}

func (o *ingestObserver) counts(channel string) (stored, dups int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stored[channel], o.dups[channel]
}

func newIngest(t testing.TB) (*store.Ingest, *redis.Client, store.Keys, *ingestObserver) {
	t.Helper()
	rdb, keys := newRedis(t)
	obs := newIngestObserver()
	return store.NewIngest(rdb, keys, clock.NewFake(t0), obs), rdb, keys, obs
}

func sampleInbound() channels.Inbound {
	return channels.Inbound{
		Channel:   channels.Telegram,
		Account:   "bot1",
		MessageID: "1001",
		ContactID: "42",
		Text:      "hello",
	}
}

func xlen(t testing.TB, rdb *redis.Client, stream string) int64 {
	t.Helper()
	n, err := rdb.XLen(context.Background(), stream).Result()
	if err != nil {
		t.Fatalf("XLEN %s: %v", stream, err)
	}
	return n
}

func TestIngestRetryIsStoredOnce(t *testing.T) {
	ctx := context.Background()
	g, rdb, keys, obs := newIngest(t)

	first, err := g.Ingest(ctx, sampleInbound())
	if err != nil {
		t.Fatalf("first ingest: %v", err)
	}
	if first.Duplicate || first.EntryID == "" {
		t.Fatalf("first ingest = %+v, want a new entry", first)
	}

	// A webhook retry: same identity; the body may even differ (e.g. a re-rendered payload).
	retry := sampleInbound()
	retry.Text = "hello (redelivered)"
	for i := 0; i < 3; i++ {
		res, err := g.Ingest(ctx, retry)
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		if !res.Duplicate || res.EntryID != first.EntryID {
			t.Fatalf("retry %d = %+v, want Duplicate with original id %s", i, res, first.EntryID)
		}
	}

	if n := xlen(t, rdb, keys.Inbound()); n != 1 {
		t.Fatalf("inbound stream has %d entries, want 1", n)
	}
	msgs, err := rdb.XRange(ctx, keys.Inbound(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	in, err := store.DecodeInbound(msgs[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	if in.Text != "hello" {
		t.Fatalf("stored text %q, want the first delivery's %q", in.Text, "hello")
	}
	if got, err := rdb.Get(ctx, keys.Dedupe(channels.Telegram, "bot1", "1001")).Result(); err != nil || got != first.EntryID {
		t.Fatalf("dedupe marker = %q, %v; want %q", got, err, first.EntryID)
	}
	if s, d := obs.counts(channels.Telegram); s != 1 || d != 3 {
		t.Fatalf("observer stored=%d dups=%d, want 1 and 3", s, d)
	}
}

func TestIngestDifferentIdentitiesAreNotDuplicates(t *testing.T) {
	ctx := context.Background()
	g, rdb, keys, _ := newIngest(t)

	base := sampleInbound()
	if _, err := g.Ingest(ctx, base); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*channels.Inbound)
		dup    bool
	}{
		{"other account", func(in *channels.Inbound) { in.Account = "bot2" }, false},
		{"no account", func(in *channels.Inbound) { in.Account = "" }, false},
		{"other channel", func(in *channels.Inbound) { in.Channel = channels.Instagram }, false},
		{"other message id", func(in *channels.Inbound) { in.MessageID = "1002" }, false},
		{"message id with a trailing space", func(in *channels.Inbound) { in.MessageID = "1001 " }, false},
		// The identity is (Channel, Account, MessageID) only: another contact or kind is still a retry.
		{"same identity, other contact", func(in *channels.Inbound) { in.ContactID = "43" }, true},
		{"same identity, other kind", func(in *channels.Inbound) { in.Kind = channels.KindEdit }, true},
	}
	want := int64(1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.modify(&in)
			res, err := g.Ingest(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Duplicate != tt.dup {
				t.Fatalf("Duplicate = %v, want %v", res.Duplicate, tt.dup)
			}
			if !tt.dup {
				want++
			}
			if n := xlen(t, rdb, keys.Inbound()); n != want {
				t.Fatalf("stream has %d entries, want %d", n, want)
			}
		})
	}
}

func TestIngestDedupeTTL(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration
	}{
		{"default", 0, store.DefaultDedupeTTL},
		{"negative means default", -time.Minute, store.DefaultDedupeTTL},
		{"one hour", time.Hour, time.Hour},
		{"ninety seconds", 90 * time.Second, 90 * time.Second},
		{"thirty days", 30 * 24 * time.Hour, 30 * 24 * time.Hour},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, rdb, keys, _ := newIngest(t)
			in := sampleInbound()
			in.MessageID = "ttl-" + string(rune('a'+i))
			in.DedupeTTL = tt.ttl
			if _, err := g.Ingest(ctx, in); err != nil {
				t.Fatal(err)
			}
			pttl, err := rdb.PTTL(ctx, keys.Dedupe(in.Channel, in.Account, in.MessageID)).Result()
			if err != nil {
				t.Fatal(err)
			}
			// PTTL counts down from the moment of SET: allow a few seconds of test latency.
			if pttl > tt.want || pttl < tt.want-5*time.Second {
				t.Fatalf("PTTL = %v, want about %v", pttl, tt.want)
			}
		})
	}
}

// A DedupeTTL under a millisecond used to become "SET ... PX 0", which Redis rejects after
// the script had already appended the entry: Ingest returned an error for a stored item,
// and the adapter's retry stored it a second time.
func TestIngestSubMillisecondTTLIsNotAnError(t *testing.T) {
	ctx := context.Background()
	g, rdb, keys, _ := newIngest(t)
	in := sampleInbound()
	in.DedupeTTL = 500 * time.Microsecond
	res, err := g.Ingest(ctx, in)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	if res.Duplicate {
		t.Fatal("first ingest reported as duplicate")
	}
	if n := xlen(t, rdb, keys.Inbound()); n != 1 {
		t.Fatalf("stream has %d entries, want 1", n)
	}
}

func TestIngestRejectsInvalidInbound(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		in   channels.Inbound
	}{
		{"zero value", channels.Inbound{}},
		{"no channel", channels.Inbound{MessageID: "1", ContactID: "2"}},
		{"no message id", channels.Inbound{Channel: channels.Form, ContactID: "2"}},
		{"no contact id", channels.Inbound{Channel: channels.Form, MessageID: "1"}},
		{"edit without contact id", channels.Inbound{Kind: channels.KindEdit, Channel: channels.Form, MessageID: "1"}},
		{"reaction without contact id", channels.Inbound{Kind: channels.KindReaction, Channel: channels.Form, MessageID: "1"}},
		{"status without message id", channels.Inbound{Kind: channels.KindStatus, Channel: channels.WhatsAppCloud, Meta: map[string]string{"ref": "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, rdb, keys, obs := newIngest(t)
			res, err := g.Ingest(ctx, tt.in)
			if !errors.Is(err, store.ErrInvalidInbound) {
				t.Fatalf("err = %v, want ErrInvalidInbound", err)
			}
			if res != (channels.IngestResult{}) {
				t.Fatalf("result = %+v, want zero", res)
			}
			// Nothing at all under the prefix: no stream, no dedupe marker.
			found, _, err := rdb.Scan(ctx, 0, "{"+keys.Prefix+"*", 1000).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 0 {
				t.Fatalf("keys written for an invalid item: %v", found)
			}
			if s, d := obs.counts(tt.in.Channel); s != 0 || d != 0 {
				t.Fatalf("observer told about an invalid item: stored=%d dups=%d", s, d)
			}
		})
	}

	// A delivery status has no contact and is valid.
	g, _, _, _ := newIngest(t)
	status := channels.Inbound{Kind: channels.KindStatus, Channel: channels.WhatsAppCloud, Account: "p1", MessageID: "st-1",
		Meta: map[string]string{"ref": "wamid.1", "status": "read"}}
	if _, err := g.Ingest(ctx, status); err != nil {
		t.Fatalf("status without contact: %v", err)
	}
}

func TestIngestPayloadRoundTrip(t *testing.T) {
	ctx := context.Background()
	msk := time.FixedZone("MSK", 3*60*60)
	tests := []struct {
		name string
		in   channels.Inbound
		want channels.Inbound // what DecodeInbound must return
	}{
		{
			name: "minimal message gets kind and received_at",
			in:   channels.Inbound{Channel: channels.Form, MessageID: "f-1", ContactID: "c-1", Text: "hi"},
			want: channels.Inbound{Kind: channels.KindMessage, Channel: channels.Form, MessageID: "f-1", ContactID: "c-1", Text: "hi", ReceivedAt: t0},
		},
		{
			name: "everything set, non-ASCII, attachments, meta",
			in: channels.Inbound{
				Kind: channels.KindMessage, Channel: channels.Telegram, Account: "bot7", MessageID: "555:12", ContactID: "555",
				DisplayName: "Иван Петров 🚀",
				Text:        "Здравствуйте! Сколько стоит? 价格 — «цена» مرحبا\n\"quoted\" \\ back\\slash <b>&amp;</b> \u2028 tab\t nul\x00 end",
				Attachments: []channels.Attachment{
					{Kind: "image", Ref: "AgACAgIAAxkBAAIB", MIME: "image/jpeg", Size: 123456, Name: "фото.jpg"},
					{Kind: "location", Name: "Москва, Красная площадь"},
					{Kind: "document", Ref: "https://example.com/a?b=c&d=e", MIME: "application/pdf", Size: 1},
				},
				Phone: "+79991234567", Email: "ivan@example.com", Source: "utm_campaign=зима",
				Meta:       map[string]string{"utm_source": "vk", "comment_id": "17890", "ключ": "значение", "empty": ""},
				SentAt:     time.Date(2026, 11, 28, 12, 29, 59, 123456789, msk),
				ReceivedAt: time.Date(2026, 11, 28, 9, 30, 1, 987654321, time.UTC),
				DedupeTTL:  time.Hour, // not part of the payload
			},
			want: channels.Inbound{
				Kind: channels.KindMessage, Channel: channels.Telegram, Account: "bot7", MessageID: "555:12", ContactID: "555",
				DisplayName: "Иван Петров 🚀",
				Text:        "Здравствуйте! Сколько стоит? 价格 — «цена» مرحبا\n\"quoted\" \\ back\\slash <b>&amp;</b> \u2028 tab\t nul\x00 end",
				Attachments: []channels.Attachment{
					{Kind: "image", Ref: "AgACAgIAAxkBAAIB", MIME: "image/jpeg", Size: 123456, Name: "фото.jpg"},
					{Kind: "location", Name: "Москва, Красная площадь"},
					{Kind: "document", Ref: "https://example.com/a?b=c&d=e", MIME: "application/pdf", Size: 1},
				},
				Phone: "+79991234567", Email: "ivan@example.com", Source: "utm_campaign=зима",
				Meta:       map[string]string{"utm_source": "vk", "comment_id": "17890", "ключ": "значение", "empty": ""},
				SentAt:     time.Date(2026, 11, 28, 12, 29, 59, 123456789, msk),
				ReceivedAt: time.Date(2026, 11, 28, 9, 30, 1, 987654321, time.UTC),
			},
		},
		{
			name: "edit",
			in:   channels.Inbound{Kind: channels.KindEdit, Channel: channels.Instagram, Account: "ig1", MessageID: "mid.2", ContactID: "igsid", Text: "исправлено", Meta: map[string]string{"edited_id": "mid.1"}},
			want: channels.Inbound{Kind: channels.KindEdit, Channel: channels.Instagram, Account: "ig1", MessageID: "mid.2", ContactID: "igsid", Text: "исправлено", Meta: map[string]string{"edited_id": "mid.1"}, ReceivedAt: t0},
		},
		{
			name: "status without contact",
			in:   channels.Inbound{Kind: channels.KindStatus, Channel: channels.WhatsAppCloud, Account: "phone1", MessageID: "wamid.X:read", Meta: map[string]string{"ref": "wamid.X", "status": "failed", "error": "131047: re-engagement message"}},
			want: channels.Inbound{Kind: channels.KindStatus, Channel: channels.WhatsAppCloud, Account: "phone1", MessageID: "wamid.X:read", Meta: map[string]string{"ref": "wamid.X", "status": "failed", "error": "131047: re-engagement message"}, ReceivedAt: t0},
		},
	}
	g, rdb, keys, _ := newIngest(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := g.Ingest(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := rdb.XRange(ctx, keys.Inbound(), res.EntryID, res.EntryID).Result()
			if err != nil || len(msgs) != 1 {
				t.Fatalf("XRANGE %s: %v, %d entries", res.EntryID, err, len(msgs))
			}
			if len(msgs[0].Values) != 1 {
				t.Fatalf("entry fields %v, want only the payload", msgs[0].Values)
			}
			got, err := store.DecodeInbound(msgs[0].Values)
			if err != nil {
				t.Fatal(err)
			}
			assertInboundEqual(t, got, tt.want)
		})
	}
}

// assertInboundEqual compares instants with time.Equal (JSON keeps the offset, not the zone
// name) and everything else exactly.
func assertInboundEqual(t *testing.T, got, want channels.Inbound) {
	t.Helper()
	if !got.SentAt.Equal(want.SentAt) {
		t.Errorf("SentAt = %v, want %v", got.SentAt, want.SentAt)
	}
	if !got.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("ReceivedAt = %v, want %v", got.ReceivedAt, want.ReceivedAt)
	}
	_, gotOff := got.SentAt.Zone()
	_, wantOff := want.SentAt.Zone()
	if gotOff != wantOff {
		t.Errorf("SentAt offset = %d, want %d", gotOff, wantOff)
	}
	got.SentAt, want.SentAt, got.ReceivedAt, want.ReceivedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n %#v\nwant\n %#v", got, want)
	}
}

func TestDecodeInboundErrors(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
	}{
		{"nil", nil},
		{"no payload field", map[string]any{"x": "{}"}},
		{"payload not a string", map[string]any{"m": 12}},
		{"payload not JSON", map[string]any{"m": "{not json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := store.DecodeInbound(tt.values); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestIngestConcurrentSameID(t *testing.T) {
	ctx := context.Background()
	g, rdb, keys, obs := newIngest(t)
	const n = 20
	results := make([]channels.IngestResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = g.Ingest(ctx, sampleInbound())
		}()
	}
	close(start)
	wg.Wait()

	fresh := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if !results[i].Duplicate {
			fresh++
		}
		if results[i].EntryID != results[0].EntryID {
			t.Fatalf("entry ids differ: %s vs %s", results[i].EntryID, results[0].EntryID)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d goroutines stored the item, want exactly 1", fresh)
	}
	if l := xlen(t, rdb, keys.Inbound()); l != 1 {
		t.Fatalf("stream has %d entries, want 1", l)
	}
	if s, d := obs.counts(channels.Telegram); s != 1 || d != n-1 {
		t.Fatalf("observer stored=%d dups=%d, want 1 and %d", s, d, n-1)
	}
}

func TestIngestObserverCountsPerChannel(t *testing.T) {
	ctx := context.Background()
	g, _, _, obs := newIngest(t)
	steps := []channels.Inbound{
		{Channel: channels.Telegram, MessageID: "1", ContactID: "c"},
		{Channel: channels.Telegram, MessageID: "1", ContactID: "c"},
		{Channel: channels.Telegram, MessageID: "2", ContactID: "c"},
		{Channel: channels.Instagram, MessageID: "1", ContactID: "c"},
		{Channel: channels.Instagram, MessageID: "1", ContactID: "c"},
		{Channel: channels.Instagram, MessageID: "1", ContactID: "c"},
	}
	for _, in := range steps {
		if _, err := g.Ingest(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if s, d := obs.counts(channels.Telegram); s != 2 || d != 1 {
		t.Errorf("telegram stored=%d dups=%d, want 2 and 1", s, d)
	}
	if s, d := obs.counts(channels.Instagram); s != 1 || d != 2 {
		t.Errorf("instagram stored=%d dups=%d, want 1 and 2", s, d)
	}

	// A nil observer is allowed.
	rdb, keys := newRedis(t)
	if _, err := store.NewIngest(rdb, keys, clock.NewFake(t0), nil).Ingest(ctx, steps[0]); err != nil {
		t.Fatal(err)
	}
}

func TestIngestRedisDown(t *testing.T) {
	_, keys := newRedis(t)
	down, _ := redistest.New(t) // a client of its own, closed to simulate the outage
	_ = down.Close()
	obs := newIngestObserver()
	g := store.NewIngest(down, keys, clock.NewFake(t0), obs)
	_, err := g.Ingest(context.Background(), sampleInbound())
	if err == nil {
		t.Fatal("ingest on a closed client succeeded")
	}
	if !store.IsUnavailable(err) {
		t.Fatalf("IsUnavailable(%v) = false", err)
	}
	if s, d := obs.counts(channels.Telegram); s != 0 || d != 0 {
		t.Fatal("observer told about a failed ingest")
	}
}
