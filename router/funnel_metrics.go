package router

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// groupMetrics is the consumer group of the {P}:timeline stream that counts the funnel
// metrics: each entry counts once across instances.
const groupMetrics = "metrics"

// other is the label value of a channel, stage, reason or currency not in config.
const other = "other"

// FunnelLabels are the only label values the funnel metrics take, each series initialised
// at zero: another channel, stage, reason or currency counts as "other"; a manager not in
// config is not counted in the per-manager metrics.
type FunnelLabels struct {
	LeadManagers  []string // ids of role lead
	SalesManagers []string // ids of role sales
	Channels      []string // the channel table's names
	RejectReasons []string // sales rejection reason ids (sales config)
	LossReasons   []string // loss reason ids (sales config)
	Currencies    []string // won amounts' currencies
}

// FunnelMetrics are the funnel counters, fed from the {P}:timeline stream (see Deps.Funnel).
type FunnelMetrics struct {
	l FunnelLabels

	Stages           *prometheus.CounterVec   // stage, channel
	LeadManager      *prometheus.CounterVec   // manager, event
	SalesManager     *prometheus.CounterVec   // manager, event
	SalesRejected    *prometheus.CounterVec   // manager, reason
	SalesLost        *prometheus.CounterVec   // manager, reason
	WonAmount        *prometheus.CounterVec   // manager, currency
	SalesAccept      *prometheus.HistogramVec // manager
	FirstContact     *prometheus.HistogramVec // manager
	ClosedUnanswered *prometheus.CounterVec   // channel
	Breaches         *prometheus.CounterVec   // manager, kind
}

// funnelStages are the stages counted by name (others count as "other").
var funnelStages = []string{StageCreated, StageOffered, StageOfferLapsed, StageAccepted, StageReplied, StageReleased,
	StageEscalated, StageQualified, StageHandedOff, StageSalesOffered, StageSalesLapsed, StageSalesAccepted,
	StageSalesRejected, StageReturned, StageContacted, StageContactBreach, StageWon, StageLost, StageOutcomeChanged,
	StageCRM, StageClosed, StageCorrected}

// Lead-manager events (lidorub_funnel_lead_manager_total) and sales-manager events
// (lidorub_funnel_sales_manager_total).
var (
	leadEvents  = []string{"answered", "qualified_hot", "qualified_warm", "qualified_tourist", "handed_off", "rejected_by_sales", "won"}
	salesEvents = []string{"offered", "accepted", "rejected", "contacted", "won", "lost"}
)

// salesBuckets: sales acceptance and first contact take minutes to days.
var salesBuckets = []float64{30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800}

// NewFunnelMetrics creates the funnel metrics on reg (nil: not registered).
func NewFunnelMetrics(reg prometheus.Registerer, l FunnelLabels) *FunnelMetrics {
	m := &FunnelMetrics{l: l,
		Stages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_total",
			Help: "Lead timeline stages, per stage and channel."}, []string{"stage", "channel"}),
		LeadManager: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_lead_manager_total",
			Help: "Per lead-manager: answered (first human reply), qualified_hot|warm|tourist, handed_off, rejected_by_sales and won (of the leads they handed off)."}, []string{"manager", "event"}),
		SalesManager: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_sales_manager_total",
			Help: "Per sales manager: offered, accepted, rejected, contacted, won, lost."}, []string{"manager", "event"}),
		SalesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_sales_rejected_total",
			Help: "Leads rejected by a sales manager, per manager and rejection reason."}, []string{"manager", "reason"}),
		SalesLost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_sales_lost_total",
			Help: "Leads lost, per sales manager and loss reason."}, []string{"manager", "reason"}),
		WonAmount: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_won_amount_total",
			Help: "Sum of won deal amounts, per sales manager and currency."}, []string{"manager", "currency"}),
		SalesAccept: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lidorub_sales_accept_seconds",
			Help: "Sales offer to acceptance (sales_offered to sales_accepted), per sales manager.", Buckets: salesBuckets}, []string{"manager"}),
		FirstContact: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lidorub_sales_first_contact_seconds",
			Help: "Sales acceptance to first contact (sales_accepted to contacted), per sales manager.", Buckets: salesBuckets}, []string{"manager"}),
		ClosedUnanswered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_closed_unanswered_total",
			Help: "Leads closed without any human answer, per channel."}, []string{"channel"}),
		Breaches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_funnel_sla_breaches_total",
			Help: "SLA breaches per manager: first_response (a lead-manager's lead released for no first reply), first_contact (a sales manager's)."}, []string{"manager", "kind"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Stages, m.LeadManager, m.SalesManager, m.SalesRejected, m.SalesLost,
			m.WonAmount, m.SalesAccept, m.FirstContact, m.ClosedUnanswered, m.Breaches} {
			reg.MustRegister(c)
		}
	}
	chs := append(slices.Clone(l.Channels), other)
	for _, ch := range chs {
		m.ClosedUnanswered.WithLabelValues(ch)
		for _, s := range append(slices.Clone(funnelStages), other) {
			m.Stages.WithLabelValues(s, ch)
		}
	}
	for _, id := range l.LeadManagers {
		for _, ev := range leadEvents {
			m.LeadManager.WithLabelValues(id, ev)
		}
		m.Breaches.WithLabelValues(id, "first_response")
	}
	for _, id := range l.SalesManagers {
		for _, ev := range salesEvents {
			m.SalesManager.WithLabelValues(id, ev)
		}
		for _, r := range append(slices.Clone(l.RejectReasons), other) {
			m.SalesRejected.WithLabelValues(id, r)
		}
		for _, r := range append(slices.Clone(l.LossReasons), other) {
			m.SalesLost.WithLabelValues(id, r)
		}
		for _, c := range l.Currencies {
			m.WonAmount.WithLabelValues(id, c)
		}
		m.SalesAccept.WithLabelValues(id)
		m.FirstContact.WithLabelValues(id)
		m.Breaches.WithLabelValues(id, "first_contact")
	}
	return m
}

func bounded(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return other
}

// funnelWorker counts the funnel metrics from the {P}:timeline stream (consumer group "metrics").
type funnelWorker struct {
	*base
	fm *FunnelMetrics
}

func (w *funnelWorker) consumer(instance, suffix string) *store.Consumer {
	return store.NewBatchConsumer(w.rdb, w.consumerConfig(w.keys.timelineStream(), groupMetrics, instance, "funnel"+suffix),
		w.handle, w.log, w.m)
}

// timelineEvent is one {P}:timeline stream entry.
type timelineEvent struct {
	conv int64
	e    TimelineEntry
}

func decodeTimelineEvent(e store.Entry) timelineEvent {
	s := func(k string) string { v, _ := e.Values[k].(string); return v }
	conv, _ := strconv.ParseInt(s("c"), 10, 64)
	at, _ := strconv.ParseInt(s("at"), 10, 64)
	return timelineEvent{conv: conv, e: tlEntry{S: s("s"), At: at, M: s("m"), X: s("x")}.entry()}
}

// needsTimeline: the stages counted against an earlier stage of the lead.
func needsTimeline(stage string) bool {
	switch stage {
	case StageSalesAccepted, StageContacted, StageWon, StageSalesRejected:
		return true
	}
	return false
}

// handle counts a batch: the channel of each lead and, where needed, its timeline are read
// in one pipelined round trip. A lead erased meanwhile counts under channel "other".
func (w *funnelWorker) handle(ctx context.Context, entries []store.Entry) []error {
	errs := make([]error, len(entries))
	evs := make([]timelineEvent, len(entries))
	pipe := w.rdb.Pipeline()
	chs := make([]*redis.StringCmd, len(entries))
	tls := make([]*redis.StringSliceCmd, len(entries))
	for i, e := range entries {
		evs[i] = decodeTimelineEvent(e)
		chs[i] = pipe.HGet(ctx, w.keys.conv(evs[i].conv), "ch")
		if needsTimeline(evs[i].e.Stage) {
			tls[i] = pipe.LRange(ctx, w.keys.timeline(evs[i].conv), 0, -1)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, ev := range evs {
		var tl []TimelineEntry
		if tls[i] != nil {
			tl = decodeTimeline(tls[i].Val())
		}
		w.count(ev.e, chs[i].Val(), tl)
	}
	return errs
}

// before returns the newest stage of tl (a lead's timeline) at or before at, and whether
// there is one.
func before(tl []TimelineEntry, stage string, at time.Time) (TimelineEntry, bool) {
	for i := len(tl) - 1; i >= 0; i-- {
		if tl[i].Stage == stage && !tl[i].At.After(at) {
			return tl[i], true
		}
	}
	return TimelineEntry{}, false
}

// count counts one timeline entry e of a lead on channel ch (its timeline tl when needed).
func (w *funnelWorker) count(e TimelineEntry, ch string, tl []TimelineEntry) {
	m, l := w.fm, w.fm.l
	ch = bounded(ch, l.Channels)
	m.Stages.WithLabelValues(bounded(e.Stage, funnelStages), ch).Inc()
	// configured managers only ("" = not counted)
	known := func(id string, ids []string) string {
		if slices.Contains(ids, id) {
			return id
		}
		return ""
	}
	lead := func(id string) string { return known(id, l.LeadManagers) }
	sales := known(e.Manager, l.SalesManagers)
	// the lead-manager who handed the lead off
	handedBy := func() string {
		if h, ok := before(tl, StageHandedOff, e.At); ok {
			return lead(h.Manager)
		}
		return ""
	}
	inc := func(c *prometheus.CounterVec, manager, v string) {
		if manager != "" {
			c.WithLabelValues(manager, v).Inc()
		}
	}
	observe := func(h *prometheus.HistogramVec, manager string, d time.Duration) {
		if manager != "" {
			h.WithLabelValues(manager).Observe(d.Seconds())
		}
	}
	switch e.Stage {
	case StageReplied:
		inc(m.LeadManager, lead(e.Manager), "answered")
	case StageQualified:
		if lv := e.Extra["level"]; lv == "hot" || lv == "warm" || lv == "tourist" {
			inc(m.LeadManager, lead(e.Manager), "qualified_"+lv)
		}
	case StageHandedOff:
		inc(m.LeadManager, lead(e.Manager), "handed_off")
	case StageReleased:
		if e.Extra["reason"] == "no_reply" {
			inc(m.Breaches, lead(e.Manager), "first_response")
		}
	case StageClosed:
		if e.Extra["unanswered"] == "1" {
			m.ClosedUnanswered.WithLabelValues(ch).Inc()
		}
	case StageSalesOffered:
		inc(m.SalesManager, sales, "offered")
	case StageSalesAccepted:
		inc(m.SalesManager, sales, "accepted")
		if o, ok := before(tl, StageSalesOffered, e.At); ok && o.Manager == e.Manager {
			observe(m.SalesAccept, sales, e.At.Sub(o.At))
		}
	case StageSalesRejected:
		inc(m.SalesManager, sales, "rejected")
		inc(m.SalesRejected, sales, bounded(e.Extra["reason"], l.RejectReasons))
		inc(m.LeadManager, handedBy(), "rejected_by_sales")
	case StageContacted:
		inc(m.SalesManager, sales, "contacted")
		if a, ok := before(tl, StageSalesAccepted, e.At); ok && a.Manager == e.Manager {
			observe(m.FirstContact, sales, e.At.Sub(a.At))
		}
	case StageContactBreach:
		inc(m.Breaches, sales, "first_contact")
	case StageWon:
		inc(m.SalesManager, sales, "won")
		inc(m.LeadManager, handedBy(), "won")
		if a, err := strconv.ParseFloat(e.Extra["amount"], 64); err == nil && a > 0 && sales != "" {
			m.WonAmount.WithLabelValues(sales, bounded(e.Extra["currency"], l.Currencies)).Add(a)
		}
	case StageLost:
		inc(m.SalesManager, sales, "lost")
		inc(m.SalesLost, sales, bounded(e.Extra["reason"], l.LossReasons))
	}
}

// FunnelMetrics returns the funnel metrics counted by this router (nil: none).
func (r *Router) FunnelMetrics() *FunnelMetrics {
	if r.funnel == nil {
		return nil
	}
	return r.funnel.fm
}
