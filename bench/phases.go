package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/channels"
)

// Lead index ranges per phase: a targeted gateway keeps one key prefix for the whole run,
// so phases never reuse a phone number.
const (
	fromIngest = 0
	fromSpeed  = 2_000_000
	fromTimers = 4_000_000
	fromMemory = 6_000_000
	fromMemMsg = 8_000_000
	// in-process Ingester leads use their own contact ids
	fromIngester = 0
)

// managerWorkers is how many offers one synthetic manager handles at once.
const managerWorkers = 4

// raw: the go-redis XADD baseline at the same concurrency, payload size and count as ingest.
func (b *runner) raw(ctx context.Context) error {
	if b.rdb == nil {
		return nil
	}
	payload := samplePayload()
	prefix := "bench-" + randomID()
	b.rep.Prefixes = append(b.rep.Prefixes, prefix)
	stream := "{" + prefix + ":raw}:stream"
	defer b.rdb.Del(context.WithoutCancel(ctx), stream)
	n, d, err := rawXAdd(ctx, b.rdb, stream, payload, b.o.Count, b.o.Concurrency, maxDuration)
	if err != nil {
		return fmt.Errorf("raw XADD: %w", err)
	}
	b.rep.Raw = &RawResult{Ops: n, Seconds: secs(d), PerSec: rate(int(n), d), PayloadBytes: len(payload)}
	b.o.Progress("raw XADD: %d in %.2fs = %.0f/s", n, secs(d), b.rep.Raw.PerSec)
	return nil
}

// ingest: Count form POSTs as fast as Concurrency clients go, with passive managers online
// (capacity 1000 each). In-process, the gateway's router is held while the leads are
// posted and while the same clients measure GET /healthz: the form path and the bare
// request are compared under the same load generator, without the router's work on the
// same cores. Then the router is released on the stored backlog and every lead flows
// qualify -> offer: the pipeline rate is the leads over the POSTs' time plus the router's.
// Against a target (a gateway running elsewhere) the router runs throughout.
func (b *runner) ingest(ctx context.Context) error {
	var res formResult
	if b.o.Target != "" {
		b.warm(ctx, b.o.Target)
		before := b.healthz(ctx, b.o.Target)
		d := closedLoop(ctx, b.o.Count, fromIngest, b.o.Concurrency, maxDuration, func(i int) { b.postForm(ctx, b.o.Target, i, nil, &res) })
		b.rep.Ingest = b.ingestResult(&res, d)
		b.rep.Ingest.setHealthz(before, b.healthz(ctx, b.o.Target))
		return nil
	}
	rec := newRecorder(0)
	rec.expect(b.o.Count)
	gw, stop, err := b.startWithManagers(ctx, 30*time.Second, rec, true)
	if err != nil {
		return err
	}
	defer stop()
	// GET /healthz before the form path and after it, all on warm connections; the ceiling
	// is the mean of the two, so a drift of the machine during the run favours neither side.
	b.warm(ctx, gw.URL)
	before := b.healthz(ctx, gw.URL)
	cpu0 := takeCPU(ctx, b.rdb)
	d := closedLoop(ctx, b.o.Count, fromIngest, b.o.Concurrency, maxDuration, func(i int) { b.postForm(ctx, gw.URL, i, rec, &res) })
	cpu1 := takeCPU(ctx, b.rdb)
	r := b.ingestResult(&res, d)
	r.RouterHeld = true
	want := int(res.accepted.Load())
	r.FormCPU = cpuCost(cpu0, cpu1, want)
	r.setHealthz(before, b.healthz(ctx, gw.URL))

	cpu2 := takeCPU(ctx, b.rdb)
	released := time.Now()
	gw.Release()
	waitFor(ctx, phaseTimeout, func() bool { return rec.counts().offered >= want })
	cpu3 := takeCPU(ctx, b.rdb)
	c := rec.counts()
	r.Offered = c.offered
	if c.offered > 0 {
		rd := c.last.Sub(released)
		r.RouterSeconds = secs(rd)
		r.RouterPerSec = rate(c.offered, rd)
		r.RouterCPU = cpuCost(cpu2, cpu3, c.offered)
		pd := d + rd
		r.PipelineSeconds = secs(pd)
		r.PipelinePerSec = rate(c.offered, pd)
		// The whole way of a lead: its POST (cpu0 -> cpu1) and the router's work on it
		// (cpu2 -> cpu3), without the GET /healthz measurement in between.
		r.CPU = cpuCost(cpuSnap{}, cpuSnap{proc: cpu1.proc - cpu0.proc + cpu3.proc - cpu2.proc,
			redis: cpu1.redis - cpu0.redis + cpu3.redis - cpu2.redis, cmds: cpu1.cmds - cpu0.cmds + cpu3.cmds - cpu2.cmds}, c.offered)
	}
	// The same leads through the gateway's Ingester in-process (what a channel adapter
	// calls after parsing its webhook), at the same concurrency: ingest without HTTP (the
	// router is running now and takes these leads too).
	var ing atomic.Int64
	id := closedLoop(ctx, b.o.Count, fromIngester, b.o.Concurrency, maxDuration, func(i int) {
		if _, err := gw.Ingest.Ingest(ctx, b.formInbound(i)); err == nil {
			ing.Add(1)
		}
	})
	r.IngesterPerSec = rate(int(ing.Load()), id)
	if b.rep.Raw != nil && b.rep.Raw.PerSec > 0 {
		r.IngesterRatioToRaw = round3(r.IngesterPerSec / b.rep.Raw.PerSec)
	}
	b.rep.Ingest = r
	b.o.Progress("ingest (router held): %d accepted in %.2fs = %.0f/s, GET /healthz %.0f/s; router on the backlog: %d offered in %.2fs = %.0f/s; pipeline %.0f/s",
		res.accepted.Load(), secs(d), r.PerSec, r.HealthzPerSec, c.offered, r.RouterSeconds, r.RouterPerSec, r.PipelinePerSec)
	return nil
}

// warm opens the clients' keep-alive connections and starts the server's connection
// goroutines (a few GET /healthz per client), then runs one whole GET /healthz measurement
// and throws it away: none of it is measured. The first full run after start is 15-25 %
// slower than every later one (measured: 20.3k, 21.6k, 21.8k/s first against 25-31k/s for
// the next five in the same process), so without it the "before" half of the ceiling was low
// and the form path's ratio flattered.
func (b *runner) warm(ctx context.Context, base string) {
	closedLoop(ctx, 8*b.o.Concurrency, 0, b.o.Concurrency, maxDuration, func(int) {
		_, _ = b.http.do(ctx, http.MethodGet, base+"/healthz", "", nil, nil)
	})
	b.healthz(ctx, base)
}

// healthzRun is one measurement of the HTTP ceiling: the same clients on GET /healthz (no
// body, no Redis).
type healthzRun struct {
	perSec    float64
	processUS float64 // this process's CPU per request (client and server)
}

func (b *runner) healthz(ctx context.Context, base string) healthzRun {
	var hc atomic.Int64
	cpu0 := takeCPU(ctx, nil)
	hd := closedLoop(ctx, b.o.Count, 0, b.o.Concurrency, maxDuration, func(int) {
		if st, err := b.http.do(ctx, http.MethodGet, base+"/healthz", "", nil, nil); err == nil && st == http.StatusOK {
			hc.Add(1)
		}
	})
	h := healthzRun{perSec: rate(int(hc.Load()), hd)}
	if c := cpuCost(cpu0, takeCPU(ctx, nil), int(hc.Load())); c != nil {
		h.processUS = c.ProcessUS
	}
	return h
}

// setHealthz records the ceiling measured before and after the form path (their mean) and
// the form path's share of it.
func (r *IngestResult) setHealthz(before, after healthzRun) {
	r.HealthzBeforePerSec, r.HealthzAfterPerSec = before.perSec, after.perSec
	r.HealthzPerSec = (before.perSec + after.perSec) / 2
	r.HealthzProcessUS = (before.processUS + after.processUS) / 2
	if r.HealthzPerSec > 0 {
		r.RatioToHealthz = round3(r.PerSec / r.HealthzPerSec)
	}
}

// formInbound is lead i as the web form hands it to the Ingester.
func (b *runner) formInbound(i int) channels.Inbound {
	body, phone := formLead(b.tag, i)
	var f map[string]any
	_ = json.Unmarshal(body, &f)
	now := time.Now().UTC()
	return channels.Inbound{Kind: channels.KindMessage, Channel: channels.Form, Account: "default",
		MessageID: "direct-" + b.tag + "-" + strconv.Itoa(i), ContactID: "direct-" + phone,
		DisplayName: f["name"].(string), Text: f["message"].(string), Phone: phone, Source: "load",
		Meta:       map[string]string{"consent_at": now.Format(time.RFC3339Nano), "policy_version": "1", "utm_source": "bench", "utm_campaign": "load"},
		ReceivedAt: now, DedupeTTL: 10 * time.Minute}
}

func (b *runner) ingestResult(res *formResult, d time.Duration) *IngestResult {
	r := &IngestResult{Accepted: res.accepted.Load(), Duplicates: res.duplicates.Load(), Failed: res.failed.Load(),
		Seconds: secs(d), HTTP: res.latency.summary()}
	r.Posted = r.Accepted + r.Duplicates + r.Failed
	r.PerSec = rate(int(r.Accepted), d)
	if e, ok := res.firstErr.Load().(string); ok {
		r.FirstError = e
	}
	if b.rep.Raw != nil && b.rep.Raw.PerSec > 0 {
		r.RatioToRaw = round3(r.PerSec / b.rep.Raw.PerSec)
	}
	return r
}

// speed: new conversations at Rate for Duration (form POSTs) plus ReplyRate on the "bench"
// messaging channel; active managers accept every offer, answer (contacted / reply) and close.
func (b *runner) speed(ctx context.Context) error {
	var rec *recorder
	base := b.o.Target
	ms := b.o.Managers
	if base == "" {
		rec = newRecorder(0)
		gw, list, stop, err := b.startGateway(ctx, 30*time.Second, rec, false)
		if err != nil {
			return err
		}
		defer stop()
		base, ms = gw.URL, list
		return b.speedRun(ctx, base, ms, rec, gw.Ingest)
	}
	return b.speedRun(ctx, base, ms, nil, nil)
}

func (b *runner) speedRun(ctx context.Context, base string, ms []ManagerToken, rec *recorder, ing channels.Ingester) error {
	pool := b.newManagers(base, ms, rec)
	pool.leaveForms = b.o.LeaveForms
	mctx, mcancel := context.WithCancel(ctx)
	defer func() { mcancel(); pool.wait() }()
	pool.start(mctx, managerWorkers)
	if err := pool.setOnline(ctx, true); err != nil {
		return err
	}
	cpu0 := takeCPU(ctx, b.rdb)
	var form formResult
	var benchOK, benchFailed atomic.Int64
	var wg sync.WaitGroup
	if ing != nil && b.o.ReplyRate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			openLoop(ctx, b.o.ReplyRate, b.o.Duration, 0, 16, func(i int) {
				contact := "bc-" + b.tag + "-" + strconv.Itoa(i)
				rec.markSent(BenchChannel, contact, time.Now())
				_, err := ing.Ingest(ctx, channels.Inbound{Channel: BenchChannel, Account: "bench", MessageID: "bm-" + strconv.Itoa(i),
					ContactID: contact, DisplayName: "Bench Chat " + strconv.Itoa(i), Text: "Hi, is this still available?"})
				if err != nil {
					benchFailed.Add(1)
					return
				}
				benchOK.Add(1)
			})
		}()
	}
	issued, d := openLoop(ctx, b.o.Rate, b.o.Duration, fromSpeed, b.o.Concurrency, func(i int) {
		if rec == nil {
			_, phone := formLead(b.tag, i)
			pool.ours.Store(phone, true)
		}
		b.postForm(ctx, base, i, rec, &form)
	})
	wg.Wait()
	want := int(form.accepted.Load() + benchOK.Load())
	handled := func() int64 {
		return pool.closed.Load() + pool.conflicts.Load() + pool.failed.Load() + pool.dropped.Load()
	}
	waitFor(ctx, phaseTimeout, func() bool {
		offered := pool.offersSeen()
		if rec != nil {
			offered = rec.counts().offered
		}
		if b.o.LeaveForms {
			return offered >= want && pool.closed.Load()+pool.failed.Load()+pool.conflicts.Load() >= benchOK.Load()
		}
		if rec == nil { // target mode: leftovers are answered too
			return offered >= want && handled() >= int64(pool.allSeen())
		}
		return offered >= want && handled() >= int64(offered)
	})
	var cpu *CPUCost
	if rec != nil { // target mode: --redis may not be the target's Redis
		cpu = cpuCost(cpu0, takeCPU(ctx, b.rdb), want)
	}
	r := &SpeedResult{CPU: cpu, LeaveForms: b.o.LeaveForms, Rate: b.o.Rate, Seconds: secs(d), FormLeads: issued, AchievedRate: rate(issued, d), FormAccepted: form.accepted.Load(),
		FormFailed: form.failed.Load(), FormHTTP: form.latency.summary(), BenchLeads: benchOK.Load(), BenchFailed: benchFailed.Load(),
		Accepted: pool.accepted.Load(), Answered: pool.answered.Load(), Closed: pool.closed.Load(), Conflicts: pool.conflicts.Load(),
		ManagerErrors: pool.failed.Load(), Dropped: pool.dropped.Load()}
	if e, ok := pool.firstErr.Load().(string); ok {
		r.FirstError = e
	} else if e, ok := form.firstErr.Load().(string); ok {
		r.FirstError = e
	}
	if rec != nil {
		c := rec.counts()
		r.Offered, r.Replies, r.Unknown = c.offered, c.replies, c.unknown
		r.InboundToOffer = rec.inToOffer.summary()
		r.PostToOffer = rec.postToOffer.summary()
		r.OfferMade = rec.inToOfferMade.summary()
		r.OfferDispatch = rec.madeToDispatch.summary()
		r.ReplyToSender = rec.replyToSend.summary()
		r.ReplyQueuedToSender = rec.queuedToSend.summary()
	} else {
		r.Offered = pool.offersSeen()
		s := pool.inToOffr.summary()
		r.ServerInboundToOffer = &s
	}
	b.rep.Speed = r
	io := r.InboundToOffer
	if r.ServerInboundToOffer != nil {
		io = *r.ServerInboundToOffer
	}
	b.o.Progress("speed: %d form leads at %.0f/s, %d bench-channel leads; inbound->offer p99 %.2f ms; reply->sender p99 %.2f ms",
		issued, r.AchievedRate, r.BenchLeads, io.P99, r.ReplyToSender.P99)
	return nil
}

// timers: offer_timeout = OfferTimeout, TimerLeads leads, managers online who never accept:
// every offer lapses and is re-offered to the next manager, round after round, for
// TimerWindow. Lateness = re-offer dispatched to the manager interface - previous offer's deadline.
func (b *runner) timers(ctx context.Context) error {
	if b.o.Target != "" {
		return nil // needs the in-process notifier
	}
	rec := newRecorder(b.o.OfferTimeout)
	gw, stop, err := b.startWithManagers(ctx, b.o.OfferTimeout, rec, false)
	if err != nil {
		return err
	}
	defer stop()
	var res formResult
	conc := min(b.o.Concurrency, 32)
	closedLoop(ctx, b.o.TimerLeads, fromTimers, conc, maxDuration, func(i int) { b.postForm(ctx, gw.URL, i, rec, &res) })
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.o.TimerWindow):
	}
	c := rec.counts()
	r := &TimerResult{OfferTimeout: b.o.OfferTimeout.String(), Leads: int(res.accepted.Load()), Reoffers: c.reoffers,
		Lateness: rec.lateness.summary()}
	r.Metric = histogram(gw.Gather, "lidorub_timer_lateness_seconds")
	b.rep.Timers = r
	b.o.Progress("timers: %d re-offers, lateness p50 %.1f ms p99 %.1f ms", c.reoffers, r.Lateness.P50, r.Lateness.P99)
	return nil
}

// memory: MemoryConvs open (offered) conversations, then one more customer message in each.
func (b *runner) memory(ctx context.Context) error {
	if b.o.Target != "" || b.rdb == nil {
		return nil
	}
	rec := newRecorder(0)
	gw, stop, err := b.startWithManagers(ctx, 30*time.Minute, rec, false)
	if err != nil {
		return err
	}
	defer stop()
	prefix := gw.Keys.Prefix
	n := b.o.MemoryConvs
	if err := trimStreams(ctx, gw); err != nil {
		return err
	}
	before, err := usedMemory(ctx, b.rdb)
	if err != nil {
		return err
	}
	keysBefore, err := keyUsage(ctx, b.rdb, prefix)
	if err != nil {
		return err
	}
	var res formResult
	closedLoop(ctx, n, fromMemory, b.o.Concurrency, maxDuration, func(i int) { b.postForm(ctx, gw.URL, i, rec, &res) })
	want := int(res.accepted.Load())
	waitFor(ctx, phaseTimeout, func() bool { return rec.counts().offered >= want && inboundDrained(ctx, gw) })
	if err := trimStreams(ctx, gw); err != nil {
		return err
	}
	after, err := usedMemory(ctx, b.rdb)
	if err != nil {
		return err
	}
	keysAfter, err := keyUsage(ctx, b.rdb, prefix)
	if err != nil {
		return err
	}
	r := &MemoryResult{Conversations: want, Offered: rec.counts().offered, InfoDelta: after - before}
	if want > 0 {
		logBytes := keysAfter["conv:log"] - keysBefore["conv:log"]
		total := sum(keysAfter) - sum(keysBefore)
		r.PerConversationInfo = round1(float64(after-before-logBytes) / float64(want))
		r.PerConversationKeys = round1(float64(total-logBytes) / float64(want))
		r.FirstLinePerConversation = round1(float64(logBytes) / float64(want))
		r.KeysByKind = perConv(keysBefore, keysAfter, want)
	}
	// One more message from each customer: appended to the open conversation's transcript.
	// The same phone with another text is a new message (not a duplicate).
	var res2 formResult
	b2 := *b
	b2.tag = b.tag + "-2"
	closedLoop(ctx, n, fromMemory, b.o.Concurrency, maxDuration, func(i int) { b2.postForm(ctx, gw.URL, i, nil, &res2) })
	waitFor(ctx, phaseTimeout, func() bool { return inboundDrained(ctx, gw) })
	if err := trimStreams(ctx, gw); err != nil {
		return err
	}
	after2, err := usedMemory(ctx, b.rdb)
	if err != nil {
		return err
	}
	keysAfter2, err := keyUsage(ctx, b.rdb, prefix)
	if err != nil {
		return err
	}
	m := int(res2.accepted.Load())
	r.Messages = m
	if m > 0 {
		r.PerMessageInfo = round1(float64(after2-after) / float64(m))
		r.PerMessageTranscript = round1(float64(keysAfter2["conv:log"]-keysAfter["conv:log"]) / float64(m))
		r.PerMessageKeys = round1(float64(sum(keysAfter2)-sum(keysAfter)) / float64(m))
	}
	b.rep.Memory = r
	b.o.Progress("memory: %.0f B per open conversation (INFO), %.0f B (keys); %.0f B per message (INFO), %.0f B transcript line",
		r.PerConversationInfo, r.PerConversationKeys, r.PerMessageInfo, r.PerMessageTranscript)
	return nil
}

func sum(m map[string]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

func perConv(before, after map[string]int64, n int) []KeyBytes {
	d := map[string]int64{}
	for k, v := range after {
		if x := v - before[k]; x != 0 {
			d[k] = x
		}
	}
	out := sortedKinds(d)
	for i := range out {
		out[i].PerConversation = round1(float64(out[i].Bytes) / float64(n))
	}
	return out
}

// histogram reads a histogram from the gateway's registry: count, mean and an estimated
// p50/p99 (linear inside the bucket, as Prometheus' histogram_quantile does).
func histogram(g prometheus.Gatherer, name string) *HistogramSummary {
	if g == nil {
		return nil
	}
	mfs, err := g.Gather()
	if err != nil {
		return nil
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h == nil || h.GetSampleCount() == 0 {
			return &HistogramSummary{}
		}
		s := &HistogramSummary{Count: h.GetSampleCount(), MeanMS: round3(h.GetSampleSum() / float64(h.GetSampleCount()) * 1000)}
		q := func(p float64) float64 {
			rank := p * float64(h.GetSampleCount())
			prevBound, prevCount := 0.0, 0.0
			for _, bk := range h.GetBucket() {
				c := float64(bk.GetCumulativeCount())
				if c >= rank {
					if c == prevCount {
						return bk.GetUpperBound() * 1000
					}
					return round3((prevBound + (bk.GetUpperBound()-prevBound)*(rank-prevCount)/(c-prevCount)) * 1000)
				}
				prevBound, prevCount = bk.GetUpperBound(), c
			}
			return prevBound * 1000
		}
		s.P50MS, s.P99MS = q(0.5), q(0.99)
		return s
	}
	return nil
}

func secs(d time.Duration) float64 { return round3(d.Seconds()) }

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round1(float64(n) / d.Seconds())
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
