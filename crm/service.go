package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// Clock tells the time (clock.Real, clock.Fake).
type Clock interface{ Now() time.Time }

// Deps is what New needs besides the connector's config and client.
type Deps struct {
	Redis    redis.UniversalClient // required
	Keys     store.Keys            // required (with the pseudonym salt loaded or not: no key here uses it)
	Clock    Clock                 // required
	Log      *slog.Logger          // nil: discard
	Leads    Leads                 // required
	Alerter  Alerter               // nil: no alerts
	Metrics  *Metrics              // nil: not counted
	Instance string                // this process's id (consumer names)
}

// Service runs one connector: the timeline consumer that creates CRM records, the inbound
// queue's worker and the reconciliation pass.
type Service struct {
	cfg  Common
	conn Connector
	d    Deps
	k    keys
	name string
	log  *slog.Logger

	mu          sync.Mutex
	pausedUntil time.Time
	backoff     time.Duration
	alerted     bool
}

// New returns the service of connector conn configured by cfg (defaults applied).
func New(cfg Common, conn Connector, d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	name := conn.Name()
	return &Service{cfg: cfg, conn: conn, d: d, k: keys{k: d.Keys, name: name}, name: name,
		log: d.Log.With("component", "crm", "crm", name)}
}

// Name is the connector's name.
func (s *Service) Name() string { return s.name }

// Metrics are the service's metrics (webhook handlers count with them).
func (s *Service) Metrics() *Metrics { return s.d.Metrics }

// TimelineConsumer reads {P}:timeline in group crm-<name>. Tests drive it with Poll; a new
// consumer with the same suffix first re-reads the entries it left pending (a retry).
func (s *Service) TimelineConsumer(suffix string) *store.Consumer {
	return store.NewConsumer(s.d.Redis, store.ConsumerConfig{
		Stream: s.k.timeline(), Group: s.k.group(), Consumer: s.d.Instance + suffix,
		ReclaimIdle: s.cfg.RetryInterval, MaxDeliveries: s.cfg.MaxAttempts,
	}, s.HandleTimeline, s.log, nil)
}

// InboundConsumer reads the inbound webhook queue {P}:crm:<name>:in.
func (s *Service) InboundConsumer(suffix string) *store.Consumer {
	return store.NewConsumer(s.d.Redis, store.ConsumerConfig{
		Stream: s.k.in(), Group: "crm", Consumer: s.d.Instance + suffix,
		ReclaimIdle: s.cfg.RetryInterval, MaxDeliveries: s.cfg.MaxAttempts,
	}, s.HandleInbound, s.log, nil)
}

// Run runs the consumers and the reconciliation pass until ctx is cancelled.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Add(3)
	go func() { defer wg.Done(); errs[0] = s.TimelineConsumer("").Run(ctx) }()
	go func() { defer wg.Done(); errs[1] = s.InboundConsumer("").Run(ctx) }()
	go func() { defer wg.Done(); errs[2] = s.reconcileLoop(ctx) }()
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Service) reconcileLoop(ctx context.Context) error {
	if s.cfg.ReconcileInterval <= 0 {
		return nil
	}
	t := time.NewTicker(s.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := s.Reconcile(ctx); err != nil {
				s.log.Warn("reconciliation incomplete; the next pass reads from the same point", "applied", n, "err", err)
			} else if n > 0 {
				s.log.Info("reconciliation applied missed statuses", "applied", n)
			}
		}
	}
}

// ready fails fast while the connector is paused.
func (s *Service) ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d.Clock.Now().Before(s.pausedUntil) {
		return ErrPaused
	}
	return nil
}

func (s *Service) ok() {
	s.mu.Lock()
	s.backoff, s.alerted = 0, false
	s.mu.Unlock()
}

// fail counts a failed call and pauses the connector after a throttled or unauthorized
// answer (an alert for the latter, once until a call succeeds again).
func (s *Service) fail(ctx context.Context, op string, err error) error {
	kind := KindOf(err)
	s.d.Metrics.Failures.WithLabelValues(s.name, kind.String()).Inc()
	now := s.d.Clock.Now()
	alert := false
	s.mu.Lock()
	switch kind {
	case Throttled:
		var e *Error
		errors.As(err, &e)
		s.backoff = min(max(2*s.backoff, time.Second), 5*time.Minute)
		wait := s.backoff
		if e != nil && e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		s.pausedUntil = now.Add(wait)
	case Unauthorized:
		s.pausedUntil = now.Add(s.cfg.RetryInterval)
		alert, s.alerted = !s.alerted, true
	}
	s.mu.Unlock()
	if alert && s.d.Alerter != nil {
		if aerr := s.d.Alerter.Alert(ctx, s.name, "", "unauthorized: check the token"); aerr != nil {
			s.log.Warn("could not raise the alert", "err", aerr)
		}
	}
	return fmt.Errorf("%s %s: %w", s.name, op, err)
}

func (s *Service) get(ctx context.Context, key string) (string, error) {
	v, err := s.d.Redis.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// RecordID returns the CRM record id stored for a lead ("" if none).
func (s *Service) RecordID(ctx context.Context, convID int64) (string, error) {
	return s.get(ctx, s.k.lead(convID))
}

// LeadOf returns the lead of a CRM record (0 if the record is not one of ours).
func (s *Service) LeadOf(ctx context.Context, id string) (int64, error) {
	v, err := s.get(ctx, s.k.ext(id))
	if err != nil || v == "" {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// HandleTimeline handles one {P}:timeline entry (fields c, s, m, x, at): on the trigger
// stage it creates the lead's CRM record unless one is stored, then adds the transcript
// note. It returns nil (the entry is acknowledged) only once both are done.
func (s *Service) HandleTimeline(ctx context.Context, e store.Entry) error {
	switch str(e.Values["s"]) {
	case router.StageSalesAccepted:
		return s.assign(ctx, e)
	case router.StageCorrected:
		return s.correct(ctx, e)
	}
	if str(e.Values["s"]) != s.cfg.Trigger {
		return nil
	}
	conv, err := strconv.ParseInt(str(e.Values["c"]), 10, 64)
	if err != nil || conv <= 0 {
		s.log.Warn("timeline entry without a conversation id; skipped", "id", e.ID)
		return nil
	}
	if err := s.ready(); err != nil {
		return err
	}
	id, err := s.RecordID(ctx, conv)
	if err != nil {
		return err
	}
	if id == "" {
		c, err := s.d.Leads.Conversation(ctx, conv)
		if errors.Is(err, router.ErrNotFound) {
			s.log.Info("lead erased before it reached the CRM; nothing sent", "conversation", conv)
			return s.Forget(ctx, conv)
		}
		if err != nil {
			return err
		}
		if id, err = s.create(ctx, s.lead(c, str(e.Values["m"]))); err != nil {
			return err
		}
	}
	return s.note(ctx, conv, id)
}

// existingRecord returns the CRM record of a lead that has one. A lead without a record
// and no attempt under way gives ""; one whose record is being created gives ErrInFlight (the
// entry is retried, as the attempt may have read the data before this change).
func (s *Service) existingRecord(ctx context.Context, conv int64) (string, error) {
	id, err := s.RecordID(ctx, conv)
	if err != nil || id != "" {
		return id, err
	}
	if n, err := s.d.Redis.Exists(ctx, s.k.try(conv)).Result(); err != nil || n > 0 {
		return "", errors.Join(err, ErrInFlight)
	}
	return "", nil
}

// assign makes the sales manager who accepted a lead (entry field m) the record's responsible
// user, when users maps them. A lead without a record and no attempt under way has nothing
// to update; one whose record is being created is retried.
func (s *Service) assign(ctx context.Context, e store.Entry) error {
	user, ok := s.cfg.Users[str(e.Values["m"])]
	conv, err := strconv.ParseInt(str(e.Values["c"]), 10, 64)
	if !ok || err != nil {
		return nil
	}
	id, err := s.existingRecord(ctx, conv)
	if id == "" || err != nil {
		return err
	}
	if err := s.ready(); err != nil {
		return err
	}
	if err := s.conn.Assign(ctx, id, user); err != nil {
		return s.fail(ctx, "assign", err)
	}
	s.ok()
	return nil
}

// correct sends a correction (entry field x: {"fields": "name,phone"}) to the CRM record of
// the lead. A lead without a record and no attempt under way needs nothing (its push will
// read the corrected data); one whose record is being created is retried, as the attempt may
// have read the data before the correction.
func (s *Service) correct(ctx context.Context, e store.Entry) error {
	conv, err := strconv.ParseInt(str(e.Values["c"]), 10, 64)
	if err != nil || conv <= 0 {
		return nil
	}
	fields := correctedFields(str(e.Values["x"]))
	if len(fields) == 0 {
		return nil
	}
	id, err := s.existingRecord(ctx, conv)
	if id == "" || err != nil {
		return err
	}
	c, err := s.d.Leads.Conversation(ctx, conv)
	if errors.Is(err, router.ErrNotFound) {
		return nil // erased since: nothing to correct
	}
	if err != nil {
		return err
	}
	if err := s.ready(); err != nil {
		return err
	}
	if err := s.conn.Update(ctx, id, s.lead(c, ""), fields); err != nil {
		return s.fail(ctx, "update", err)
	}
	s.ok()
	s.d.Metrics.Corrections.WithLabelValues(s.name).Inc()
	return nil
}

// correctedFields reads the contact fields a corrected entry names (x: {"fields": "name,phone"}
// or a list), in a fixed order, unknown names left out.
func correctedFields(x string) []string {
	var v struct {
		Fields any `json:"fields"`
	}
	if json.Unmarshal([]byte(x), &v) != nil {
		return nil
	}
	named := map[string]bool{}
	switch f := v.Fields.(type) {
	case string:
		for _, n := range strings.Split(f, ",") {
			named[strings.TrimSpace(n)] = true
		}
	case []any:
		for _, n := range f {
			if s, ok := n.(string); ok {
				named[s] = true
			}
		}
	}
	var out []string
	for _, n := range []string{FieldName, FieldPhone, FieldEmail} {
		if named[n] {
			out = append(out, n)
		}
	}
	return out
}

func (s *Service) create(ctx context.Context, l Lead) (string, error) {
	claim, err := claimScript.Run(ctx, s.d.Redis, s.k.claimKeys(l.ConvID),
		claimArgs{Now: s.d.Clock.Now().UnixMilli(), Stale: (2 * s.cfg.Timeout).Milliseconds()}.argv()...).Text()
	if err != nil {
		return "", fmt.Errorf("%s: claim: %w", s.name, err)
	}
	id := ""
	switch claim {
	case "busy":
		return "", ErrInFlight
	case "stale":
		l.Retry = true
		if id, err = s.conn.Find(ctx, l); err != nil {
			s.failed(ctx, l.ConvID)
			return "", s.fail(ctx, "find", err)
		}
	}
	if id == "" {
		if id, err = s.conn.Create(ctx, l); err != nil {
			s.failed(ctx, l.ConvID)
			return "", s.fail(ctx, "create", err)
		}
		s.d.Metrics.Pushes.WithLabelValues(s.name).Inc()
	}
	s.ok()
	stored, err := linkScript.Run(ctx, s.d.Redis, s.k.linkKeys(l.ConvID, id), linkArgs{ID: id, Conv: l.ConvID}.argv()...).Text()
	if err != nil {
		return "", fmt.Errorf("%s: store record id: %w", s.name, err)
	}
	if stored != id {
		s.log.Warn("a racing attempt made a second CRM record; the first is kept", "conversation", l.ConvID, "kept", stored, "extra", id)
	}
	if err := s.d.Leads.RecordCRM(ctx, l.ConvID, s.name, stored, "created"); err != nil {
		s.log.Warn("could not record the CRM id on the lead's timeline", "conversation", l.ConvID, "err", err)
	}
	return stored, nil
}

// failed marks the lead's attempt as ended without a stored id: the next one looks the
// record up first (the CRM may have made it, or part of it, before the error).
func (s *Service) failed(ctx context.Context, conv int64) {
	if err := s.d.Redis.Set(ctx, s.k.try(conv), "0", 0).Err(); err != nil {
		s.log.Warn("could not mark a failed attempt", "conversation", conv, "err", err)
	}
}

func (s *Service) note(ctx context.Context, conv int64, id string) error {
	if s.cfg.TranscriptLimit < 0 {
		return nil
	}
	done, err := s.d.Redis.Exists(ctx, s.k.noted(conv)).Result()
	if err != nil || done > 0 {
		return err
	}
	msgs, err := s.d.Leads.Transcript(ctx, conv, s.cfg.TranscriptLimit)
	if errors.Is(err, router.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if text := FormatTranscript(msgs); text != "" {
		if err := s.conn.Note(ctx, id, text); err != nil {
			return s.fail(ctx, "note", err)
		}
		s.ok()
	}
	return s.d.Redis.Set(ctx, s.k.noted(conv), "1", 0).Err()
}

// lead builds what is sent for conversation c; manager is the trigger entry's manager.
func (s *Service) lead(c *router.Conversation, manager string) Lead {
	l := Lead{
		ConvID: c.ID, Title: fmt.Sprintf("%s #%d", s.cfg.TitlePrefix, c.ID),
		Name: c.Name, Phone: c.Phone, Email: c.Email, Channel: c.Channel, Source: c.Source,
		Qualification: c.Qualification, Manager: manager, Responsible: s.cfg.Responsible(manager),
		CreatedAt: c.FirstInboundAt,
	}
	if l.Source == "" {
		l.Source = c.Channel
	}
	for _, f := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"} {
		if v := c.Meta[f]; v != "" {
			if l.UTM == nil {
				l.UTM = map[string]string{}
			}
			l.UTM[f] = v
		}
	}
	return l
}

// FormatTranscript renders the customer's and the managers' messages for a CRM note, one
// line each: "2026-11-25 10:00 → text" (customer) or "… ← anna: text" (manager). It uses no
// words of its own, so it needs no translation. Automatic messages and notes are left out.
func FormatTranscript(msgs []router.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		if m.Deleted || (m.Dir == "out" && m.ManagerID == "") || m.Kind == "note" {
			continue
		}
		text := m.Text
		if n := len(m.Attachments); n > 0 {
			text = strings.TrimSpace(text + fmt.Sprintf(" 📎×%d", n))
		}
		if text == "" {
			continue
		}
		b.WriteString(m.At.UTC().Format("2006-01-02 15:04"))
		if m.Dir == "in" {
			b.WriteString(" → ")
		} else {
			b.WriteString(" ← " + m.ManagerID + ": ")
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Enqueue stores an inbound webhook item (ids and statuses, no personal data) durably; the
// inbound worker resolves and applies it. Item keys: id (the CRM record id, required),
// status (the CRM status when the webhook carries it: a status already applied is skipped
// without an API call), and the connector's own. Webhook handlers answer once it returns nil.
func (s *Service) Enqueue(ctx context.Context, item map[string]string) error {
	vals := make(map[string]any, len(item))
	for k, v := range item {
		vals[k] = v
	}
	return s.d.Redis.XAdd(ctx, &redis.XAddArgs{Stream: s.k.in(), Values: vals, MaxLen: 100000, Approx: true}).Err()
}

// HandleInbound resolves one queued webhook item with the CRM and applies it.
func (s *Service) HandleInbound(ctx context.Context, e store.Entry) error {
	if err := s.ready(); err != nil {
		return err
	}
	item := make(map[string]string, len(e.Values))
	for k, v := range e.Values {
		item[k] = str(v)
	}
	// a record that is not ours, or a status already applied, costs no API call
	if conv, err := s.LeadOf(ctx, item["id"]); err != nil || conv == 0 {
		return err
	}
	if item["status"] != "" {
		if seen, err := s.get(ctx, s.k.seen(item["id"])); err != nil || seen == item["status"] {
			return err
		}
	}
	st, err := s.conn.Resolve(ctx, item)
	if err != nil {
		return s.fail(ctx, "resolve", err)
	}
	s.ok()
	if st.ID == "" {
		return nil
	}
	_, err = s.Apply(ctx, st)
	return err
}

// Apply applies a record's status to its lead: won and lost become the lead's outcome
// (RecordOutcome with Source set to the connector), another status is recorded on the
// timeline. A record that is not ours is ignored; the same (record, status) is applied once.
// It reports whether something was applied.
func (s *Service) Apply(ctx context.Context, st Status) (bool, error) {
	conv, err := s.LeadOf(ctx, st.ID)
	if err != nil || conv == 0 {
		return false, err
	}
	old, err := s.d.Redis.SetArgs(ctx, s.k.seen(st.ID), st.Status, redis.SetArgs{Get: true}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, err
	}
	if old == st.Status {
		return false, nil
	}
	err = s.apply(ctx, conv, st)
	if st.Result != "" && (errors.Is(err, router.ErrConflict) || errors.Is(err, router.ErrInvalid)) {
		// The router takes no outcome for the lead as it is (never handed off, still waiting
		// for a sales manager, sent back, or a loss reason sales.loss_reasons lacks): retrying
		// cannot help, so the CRM's status is recorded on the timeline for a supervisor to see,
		// once, like any other status.
		s.log.Warn("the CRM reported an outcome the lead cannot take in its state; recorded as a CRM status",
			"conversation", conv, "record", st.ID, "result", st.Result, "err", err)
		s.d.Metrics.Outcomes.WithLabelValues(s.name, "refused").Inc()
		err = s.d.Leads.RecordCRM(ctx, conv, s.name, st.ID, st.Status)
	}
	if err != nil {
		if errors.Is(err, router.ErrNotFound) { // erased: forget the record too
			return false, s.Forget(ctx, conv)
		}
		if old == "" {
			s.d.Redis.Del(ctx, s.k.seen(st.ID))
		} else {
			s.d.Redis.Set(ctx, s.k.seen(st.ID), old, 0)
		}
		return false, err
	}
	return true, nil
}

func (s *Service) apply(ctx context.Context, conv int64, st Status) error {
	switch st.Result {
	case router.OutcomeWon:
		cur := st.Currency
		if cur == "" {
			cur = s.cfg.Currency
		}
		err := s.d.Leads.RecordOutcome(ctx, conv, "", router.Outcome{Result: router.OutcomeWon, Amount: st.Amount,
			Currency: cur, Source: s.name, External: st.ID})
		if err == nil {
			s.d.Metrics.Outcomes.WithLabelValues(s.name, "won").Inc()
		}
		return err
	case router.OutcomeLost:
		reason := st.Reason
		if reason == "" {
			reason = s.cfg.LostReason
		}
		err := s.d.Leads.RecordOutcome(ctx, conv, "", router.Outcome{Result: router.OutcomeLost, Reason: reason,
			Source: s.name, External: st.ID})
		if err == nil {
			s.d.Metrics.Outcomes.WithLabelValues(s.name, "lost").Inc()
		}
		return err
	}
	err := s.d.Leads.RecordCRM(ctx, conv, s.name, st.ID, st.Status)
	if err == nil {
		s.d.Metrics.Outcomes.WithLabelValues(s.name, "other").Inc()
	}
	return err
}

// Reconcile reads the records changed since the last pass (minus reconcile_overlap) and
// applies their statuses, so an outcome whose webhook was lost still arrives. The cursor
// moves only when the whole pass succeeded. It returns how many statuses were applied.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	if err := s.ready(); err != nil {
		return 0, err
	}
	now := s.d.Clock.Now()
	since := now.Add(-s.cfg.ReconcileInterval)
	if v, err := s.get(ctx, s.k.since()); err != nil {
		return 0, err
	} else if ms, perr := strconv.ParseInt(v, 10, 64); perr == nil && v != "" {
		since = time.UnixMilli(ms)
	}
	sts, err := s.conn.Changed(ctx, since.Add(-s.cfg.ReconcileOverlap))
	if err != nil {
		return 0, s.fail(ctx, "reconcile", err)
	}
	s.ok()
	n := 0
	var errs []error
	for _, st := range sts {
		applied, err := s.Apply(ctx, st)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if applied {
			n++
		}
	}
	if len(errs) > 0 {
		return n, errors.Join(errs...)
	}
	return n, s.d.Redis.Set(ctx, s.k.since(), now.UnixMilli(), 0).Err()
}

// Forget removes what is kept about a lead's CRM record (on erasure of the lead): the
// mapping both ways, the markers and the inbound dedupe marker.
func (s *Service) Forget(ctx context.Context, convID int64) error {
	id, err := s.RecordID(ctx, convID)
	if err != nil {
		return err
	}
	ks := []string{s.k.lead(convID), s.k.try(convID), s.k.noted(convID)}
	if id != "" {
		ks = append(ks, s.k.ext(id), s.k.seen(id))
	}
	return s.d.Redis.Del(ctx, ks...).Err()
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
