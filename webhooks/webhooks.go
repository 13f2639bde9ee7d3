// Package webhooks sends the leads' timeline events to configured HTTP endpoints, signed
// with Standard Webhooks 1.0, from a durable outbox in Redis (README "Event webhooks").
//
//	{P}:timeline ──consumer group "webhooks"──▶ enqueue.lua: one outbox item per endpoint
//	                                            (webhook-id "msg_" + entry id), then XACK
//	{P:wh}:due:<endpoint> ──claim.lua (lease)──▶ POST, signed ──settle.lua──▶ delivered |
//	                                            retry (schedule, Retry-After) | dead | 410: disabled
//
// Delivery is at least once: an item is claimed with a lease, and a gateway that dies
// between sending and recording the answer leaves it to be sent again, with the same
// webhook-id, when the lease ends. Several gateways share the outbox (claims are atomic).
// Per-endpoint ordering is not promised: retries and parallel deliveries reorder events;
// receivers order by the payload's timestamp and dedupe by webhook-id.
//
// The outbox holds ids only (conversation id, stage, manager id, amount, reason ids): the
// body is built from the lead (Leads.Conversation) when each attempt is made, so an erased
// lead's pending items carry no personal data and are dropped unsent.
package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// Name is the channel name of the webhooks' operational alerts (channels.Alerter).
const Name = "webhooks"

// Group is the consumer group of the timeline stream.
const Group = "webhooks"

// deliveredTTL is how long a delivered (or dropped) item is kept as a marker, so a timeline
// entry read again after a crash before its acknowledgement is not queued a second time.
const deliveredTTL = 7 * 24 * time.Hour

// pruneInterval: consumers of the group idle this long with nothing pending are removed.
const pruneInterval = time.Hour

// Leads reads a lead when its event is delivered; router.Desk implements it.
type Leads interface {
	Conversation(ctx context.Context, convID int64) (*router.Conversation, error)
}

// Deps is what the webhooks need.
type Deps struct {
	Redis      redis.UniversalClient  // required
	Keys       store.Keys             // required
	Leads      Leads                  // required
	Clock      clock.Clock            // nil: the real clock
	Log        *slog.Logger           // nil: discard
	Registerer prometheus.Registerer  // nil: metrics not exported
	Alerter    channels.Alerter       // nil: no alert when an endpoint answers 410
	Observer   store.ConsumerObserver // nil: none (the consumer's failures and dead letters)
	Instance   string                 // this process's id (consumer name)
	// HTTP sends the deliveries; nil: a client with webhooks.timeout that follows no redirect.
	HTTP *http.Client
	// Rand returns a number in [0, 1) for the jitter; nil: math/rand/v2.
	Rand func() float64
}

// Service is the timeline consumer and the delivery worker.
type Service struct {
	cfg       Config
	d         Deps
	keys      keys
	m         *Metrics
	log       *slog.Logger
	endpoints []*endpoint
	byID      map[string]*endpoint
	consumer  *store.Consumer
}

type endpoint struct {
	Endpoint
	signer *Signer
}

// ErrUnknownEndpoint: no configured endpoint has this id.
var ErrUnknownEndpoint = errors.New("no such webhook endpoint")

// New builds the service; nothing runs until Run (tests drive Poll and Deliver).
func New(cfg Config, d Deps) (*Service, error) {
	if d.Redis == nil || d.Leads == nil {
		return nil, errors.New("webhooks: Redis and Leads are required")
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Rand == nil {
		d.Rand = rand.Float64
	}
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	s := &Service{cfg: cfg, d: d, keys: newKeys(d.Keys), log: d.Log.With("component", "webhooks"), byID: map[string]*endpoint{}}
	var ids []string
	for i, e := range cfg.Endpoints {
		sg, err := NewSigner(append([]string{e.Secret}, e.Secrets...)...)
		if err != nil {
			return nil, fmt.Errorf("webhooks.endpoints[%d]: %w", i, err)
		}
		ep := &endpoint{Endpoint: e, signer: sg}
		s.byID[e.ID] = ep
		if e.On() {
			s.endpoints = append(s.endpoints, ep)
		}
		ids = append(ids, e.ID)
	}
	var err error
	if s.m, err = newMetrics(d.Registerer, ids); err != nil {
		return nil, err
	}
	s.consumer = store.NewConsumer(d.Redis, store.ConsumerConfig{
		Stream: router.TimelineStream(d.Keys), Group: Group, Consumer: d.Instance + "-webhooks",
	}, s.handle, s.log, d.Observer)
	return s, nil
}

// Run consumes the timeline and delivers due items every poll_interval until ctx is
// cancelled.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.consumer.Run(ctx); err != nil {
			s.log.Error("timeline consumer stopped", "err", err)
		}
	})
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	lastPrune := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastPrune) > pruneInterval {
			// Every restarted process joins the group under a new name: drop the idle ones.
			lastPrune = time.Now()
			if _, err := store.PruneConsumers(ctx, s.d.Redis, router.TimelineStream(s.d.Keys), Group, pruneInterval); err != nil {
				s.log.Warn("could not prune idle timeline consumers", "err", err)
			}
		}
		for ctx.Err() == nil {
			more, err := s.deliver(ctx)
			if err != nil {
				s.log.Warn("delivery round failed; retrying", "err", err)
				break
			}
			if !more {
				break
			}
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	wg.Wait()
	return nil
}

// Poll runs the timeline consumer once without blocking and returns how many entries it
// handled (tests).
func (s *Service) Poll(ctx context.Context) (int, error) { return s.consumer.Poll(ctx) }

// handle queues one timeline entry for the endpoints that take its event. It returns only
// after the outbox write: the consumer acknowledges the entry when handle returns nil.
func (s *Service) handle(ctx context.Context, e store.Entry) error {
	str := func(k string) string { v, _ := e.Values[k].(string); return v }
	typ := EventType(str("s"))
	if typ == "" {
		return nil
	}
	conv, err := strconv.ParseInt(str("c"), 10, 64)
	if err != nil || conv <= 0 {
		s.log.Warn("timeline entry without a conversation id; skipped", "id", e.ID)
		return nil
	}
	at, _ := strconv.ParseInt(str("at"), 10, 64)
	var eps []string
	for _, ep := range s.endpoints {
		if ep.Wants(typ) {
			eps = append(eps, ep.ID)
		}
	}
	if len(eps) == 0 {
		return nil
	}
	id := "msg_" + e.ID
	a := enqueueArgs{ID: id, Conv: conv, Stage: str("s"), Manager: str("m"), Extra: str("x"), At: at,
		Now: s.d.Clock.Now().UnixMilli()}
	if err := enqueueScript.Run(ctx, s.d.Redis, s.keys.enqueueKeys(eps, id), a.argv()...).Err(); err != nil {
		return fmt.Errorf("webhooks outbox: %w", err)
	}
	return nil
}

// item is one claimed outbox item.
type item struct {
	ID       string
	Token    string
	Attempts int // made before this one
	ev       event
}

// Deliver runs one delivery round over every endpoint and returns how many items it
// claimed (tests drive it on a fake clock).
func (s *Service) Deliver(ctx context.Context) (int, error) {
	n := 0
	for {
		more, claimed, err := s.round(ctx)
		n += claimed
		if err != nil || !more {
			return n, err
		}
	}
}

func (s *Service) deliver(ctx context.Context) (bool, error) {
	more, _, err := s.round(ctx)
	return more, err
}

// round claims and delivers one batch per endpoint, in parallel; more reports whether an
// endpoint had a full batch (more may be due).
func (s *Service) round(ctx context.Context) (more bool, claimed int, err error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, ep := range s.endpoints {
		wg.Go(func() {
			n, err := s.deliverEndpoint(ctx, ep)
			mu.Lock()
			defer mu.Unlock()
			claimed += n
			if n >= s.cfg.Batch {
				more = true
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("endpoint %s: %w", ep.ID, err))
			}
		})
	}
	wg.Wait()
	if err := s.observe(ctx); err != nil {
		errs = append(errs, err)
	}
	return more, claimed, errors.Join(errs...)
}

// claim takes up to webhooks.batch due items of ep.
func (s *Service) claim(ctx context.Context, ep *endpoint) ([]item, error) {
	a := claimArgs{Now: s.d.Clock.Now().UnixMilli(), Lease: s.cfg.Lease.Milliseconds(), Limit: s.cfg.Batch}
	vals, err := claimScript.Run(ctx, s.d.Redis, s.keys.claimKeys(ep.ID), a.argv()...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	out := make([]item, 0, len(vals)/8)
	for i := 0; i+8 <= len(vals); i += 8 {
		v := vals[i : i+8]
		conv, _ := strconv.ParseInt(v[2], 10, 64)
		at, _ := strconv.ParseInt(v[6], 10, 64)
		n, _ := strconv.Atoi(v[7])
		out = append(out, item{ID: v[0], Token: v[1], Attempts: n,
			ev: event{Conv: conv, Stage: v[3], Manager: v[4], Extra: v[5], At: time.UnixMilli(at)}})
	}
	return out, nil
}

func (s *Service) deliverEndpoint(ctx context.Context, ep *endpoint) (int, error) {
	items, err := s.claim(ctx, ep)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	// A delivery that started finishes and is recorded even if ctx ends meanwhile (bounded by
	// the timeout); the items not started yet come back when their lease ends.
	wctx := context.WithoutCancel(ctx)
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.settle(wctx, ep, it, s.attempt(wctx, ep, it)); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(items), errors.Join(errs...)
}

// result is what one attempt came to.
type result struct {
	outcome  string // settle.lua outcome
	next     time.Time
	attempts int    // attempts made, this one included
	last     string // the answer: an HTTP status, timeout, network
	reason   string // failure reason label, "" on success
	status   int
}

// attempt sends one item and decides what becomes of it.
func (s *Service) attempt(ctx context.Context, ep *endpoint, it item) result {
	now := s.d.Clock.Now()
	c, err := s.d.Leads.Conversation(ctx, it.ev.Conv)
	if errors.Is(err, router.ErrNotFound) {
		return result{outcome: outDropped, attempts: it.Attempts, last: "erased"}
	}
	if err != nil { // the lead could not be read: try again soon, no attempt spent
		s.log.Warn("cannot read the lead of a webhook event; retrying", "endpoint", ep.ID, "webhook_id", it.ID, "err", err)
		return result{outcome: outRetry, next: now.Add(s.cfg.firstWait()), attempts: it.Attempts, last: "lead_unreadable"}
	}
	body, err := json.Marshal(payload(it.ev, c))
	if err != nil {
		return result{outcome: outDead, attempts: it.Attempts, last: "unencodable", reason: "other"}
	}
	status, retryAfter, reason := s.post(ctx, ep, it.ID, body)
	r := result{attempts: it.Attempts + 1, status: status, reason: reason, last: reason}
	if status != 0 {
		r.last = strconv.Itoa(status)
	}
	now = s.d.Clock.Now()
	switch {
	case status >= 200 && status < 300:
		r.outcome, r.reason = outDelivered, ""
		s.m.Lag.WithLabelValues(ep.ID).Observe(max(0, now.Sub(it.ev.At).Seconds()))
	case status == http.StatusGone:
		r.outcome = outGone
	case retryable(status):
		if r.attempts > len(s.cfg.RetrySchedule) {
			r.outcome = outDead
			break
		}
		r.outcome = outRetry
		wait := s.cfg.RetrySchedule[r.attempts-1]
		wait += time.Duration(s.d.Rand() * s.cfg.Jitter * float64(wait))
		r.next = now.Add(max(wait, retryAfter))
	default: // a 4xx refusing the event: retrying would not change the answer
		r.outcome = outDead
	}
	return r
}

// firstWait is the first retry wait (used for local failures that spend no attempt).
func (c *Config) firstWait() time.Duration {
	if len(c.RetrySchedule) == 0 {
		return 5 * time.Second
	}
	return c.RetrySchedule[0]
}

// retryable: no answer (timeout, network) or an answer that asks to come back later.
func retryable(status int) bool {
	switch {
	case status == 0, status >= 500, status < 200, status >= 300 && status < 400:
		return true
	}
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return false
}

// post makes one signed request: the status (0 with no answer), the Retry-After wait, and
// the failure reason label ("" for a 2xx).
func (s *Service) post(ctx context.Context, ep *endpoint, id string, body []byte) (int, time.Duration, string) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "other"
	}
	ts := s.d.Clock.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lidorub-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", ep.signer.Sign(id, ts, body))
	res, err := s.d.HTTP.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return 0, 0, "timeout"
		}
		return 0, 0, "network"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	reason := ""
	switch st := res.StatusCode; {
	case st >= 200 && st < 300:
	case st >= 500:
		reason = "5xx"
	case st == 429, st == 408, st == 409, st == 425, st == 410:
		reason = strconv.Itoa(st)
	case st >= 400:
		reason = "4xx"
	default:
		reason = "other"
	}
	return res.StatusCode, retryAfter(res.Header.Get("Retry-After"), s.d.Clock.Now()), reason
}

// retryAfter parses a Retry-After header: seconds or an HTTP date; 0 when absent or invalid.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 365*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// settle records the result of an attempt (settle.lua) and counts it.
func (s *Service) settle(ctx context.Context, ep *endpoint, it item, r result) error {
	now := s.d.Clock.Now()
	ttl := deliveredTTL
	if r.outcome == outDead || r.outcome == outGone {
		ttl = s.cfg.DeadRetention
	}
	a := settleArgs{ID: it.ID, Token: it.Token, Outcome: r.outcome, Now: now.UnixMilli(), Next: r.next.UnixMilli(),
		TTL: int64(ttl / time.Second), Attempts: r.attempts, Last: r.last}
	res, err := settleScript.Run(ctx, s.d.Redis, s.keys.settleKeys(ep.ID, it.ID), a.argv()...).Int()
	if err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	if r.reason != "" {
		s.m.Failures.WithLabelValues(ep.ID, r.reason).Inc()
	}
	if res == 0 {
		s.log.Info("a webhook item's lease ended before its answer was recorded; another delivery counts", "endpoint", ep.ID, "webhook_id", it.ID)
		return nil
	}
	log := s.log.With("endpoint", ep.ID, "webhook_id", it.ID, "event", EventType(it.ev.Stage), "attempt", r.attempts, "answer", r.last)
	switch r.outcome {
	case outDelivered:
		s.m.Deliveries.WithLabelValues(ep.ID).Inc()
		log.Debug("webhook delivered")
	case outRetry:
		s.m.Retries.WithLabelValues(ep.ID).Inc()
		log.Info("webhook delivery failed; retrying", "next", r.next)
	case outDropped:
		s.m.Dropped.WithLabelValues(ep.ID).Inc()
		log.Info("webhook event of an erased lead dropped")
	case outDead, outGone:
		s.m.Dead.WithLabelValues(ep.ID).Inc()
		log.Warn("webhook dead-lettered; replay with POST /api/v1/webhooks/" + ep.ID + "/replay")
	}
	if res == 2 { // this 410 disabled the endpoint
		s.m.Disabled.WithLabelValues(ep.ID).Set(1)
		log.Error("webhook endpoint answered 410 Gone: disabled until a replay re-enables it")
		if s.d.Alerter != nil {
			if err := s.d.Alerter.Alert(ctx, Name, ep.ID, locale.M("alert.webhooks.gone", "endpoint", ep.ID).Encode()); err != nil {
				s.log.Warn("could not raise the alert", "err", err)
			}
		}
	}
	return nil
}

// observe sets the depth and disabled gauges and drops dead letters older than
// webhooks.dead_retention (their items have expired).
func (s *Service) observe(ctx context.Context) error {
	cutoff := s.d.Clock.Now().Add(-s.cfg.DeadRetention).UnixMilli()
	pipe := s.d.Redis.Pipeline()
	type q struct {
		pending, dead *redis.IntCmd
		disabled      *redis.StringCmd
	}
	qs := make([]q, len(s.cfg.Endpoints))
	for i, e := range s.cfg.Endpoints {
		pipe.ZRemRangeByScore(ctx, s.keys.dead(e.ID), "-inf", "("+strconv.FormatInt(cutoff, 10))
		qs[i] = q{pipe.ZCard(ctx, s.keys.due(e.ID)), pipe.ZCard(ctx, s.keys.dead(e.ID)), pipe.HGet(ctx, s.keys.ep(e.ID), "disabled")}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("outbox depth: %w", err)
	}
	for i, e := range s.cfg.Endpoints {
		s.m.Depth.WithLabelValues(e.ID, "pending").Set(float64(qs[i].pending.Val()))
		s.m.Depth.WithLabelValues(e.ID, "dead").Set(float64(qs[i].dead.Val()))
		d := 0.0
		if qs[i].disabled.Val() == "1" {
			d = 1
		}
		s.m.Disabled.WithLabelValues(e.ID).Set(d)
	}
	return nil
}

// Replay re-enables an endpoint (after a 410) and queues its dead letters again, due at
// once, with their webhook-ids; it returns how many were queued.
func (s *Service) Replay(ctx context.Context, endpointID string) (int, error) {
	if _, ok := s.byID[endpointID]; !ok {
		return 0, ErrUnknownEndpoint
	}
	if err := s.d.Redis.HDel(ctx, s.keys.ep(endpointID), "disabled", "disabled_at").Err(); err != nil {
		return 0, err
	}
	const limit = 500
	n := 0
	for {
		a := replayArgs{Now: s.d.Clock.Now().UnixMilli(), Limit: limit}
		v, err := replayScript.Run(ctx, s.d.Redis, s.keys.replayKeys(endpointID), a.argv()...).Int64Slice()
		if err != nil {
			return n, fmt.Errorf("replay: %w", err)
		}
		n += int(v[0])
		if v[1] < limit {
			break
		}
	}
	s.log.Info("webhook endpoint re-enabled and dead letters queued again", "endpoint", endpointID, "replayed", n)
	return n, s.observe(ctx)
}

// EndpointStatus is what GET /api/v1/webhooks shows of one endpoint.
type EndpointStatus struct {
	ID         string    `json:"id"`
	Enabled    bool      `json:"enabled"`  // in the config
	Disabled   bool      `json:"disabled"` // by a 410 answer, until a replay
	DisabledAt time.Time `json:"disabled_at,omitzero"`
	Pending    int64     `json:"pending"`
	Dead       int64     `json:"dead"`
}

// Status returns every configured endpoint's state.
func (s *Service) Status(ctx context.Context) ([]EndpointStatus, error) {
	out := make([]EndpointStatus, 0, len(s.cfg.Endpoints))
	for _, e := range s.cfg.Endpoints {
		pipe := s.d.Redis.Pipeline()
		h := pipe.HGetAll(ctx, s.keys.ep(e.ID))
		p := pipe.ZCard(ctx, s.keys.due(e.ID))
		d := pipe.ZCard(ctx, s.keys.dead(e.ID))
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		st := EndpointStatus{ID: e.ID, Enabled: e.On(), Disabled: h.Val()["disabled"] == "1", Pending: p.Val(), Dead: d.Val()}
		if ms, err := strconv.ParseInt(h.Val()["disabled_at"], 10, 64); err == nil && st.Disabled {
			st.DisabledAt = time.UnixMilli(ms).UTC()
		}
		out = append(out, st)
	}
	return out, nil
}
