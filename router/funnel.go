package router

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
)

// The blame-free funnel report: every lead created in a period ({P}:leads by created time),
// read from its conversation hash and its timeline, counted per group (the lead-manager, the
// sales manager, the channel or the source) and in total. See README "The lead timeline and
// the funnel report".

// Funnel groupings (FunnelQuery.By).
const (
	ByLeadManager  = "lead_manager"  // the lead-manager of the last accepted stage ("(none)": never accepted)
	BySalesManager = "sales_manager" // of the last sales_accepted stage, else of the last sales_offered
	ByChannel      = "channel"
	BySource       = "source" // the source of the first message ("(none)" when it had none)
)

// NoGroup names the group of leads without a manager or source.
const NoGroup = "(none)"

// DefaultStaleAfter: an open lead (not closed, no outcome) whose timeline has not moved for
// this long at the report's end is stale.
const DefaultStaleAfter = 7 * 24 * time.Hour

// SpeedBands are the speed-to-lead bands of the report (answered within each; cumulative).
var SpeedBands = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

// FunnelQuery selects the leads created in [From, To) and how to group them.
type FunnelQuery struct {
	From, To   time.Time
	By         string
	StaleAfter time.Duration // 0 = DefaultStaleAfter
}

// Funnel is the report.
type Funnel struct {
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"`
	By          string      `json:"by"`
	SpeedTarget float64     `json:"speed_target_s"` // router.speed_target, seconds
	Groups      []FunnelRow `json:"groups"`         // sorted by group name
	Total       FunnelRow   `json:"total"`
}

// FunnelRow is one group's (or the total's) numbers. Speed-to-lead runs from the first
// inbound message to the first human reply (the replied stage); a lead never answered is
// censored at its close time, or at the report's end while open, and the percentiles are
// Kaplan–Meier estimates: a percentile the estimate never reaches is null, its *_reached false.
type FunnelRow struct {
	Group            string             `json:"group"`
	Leads            int                `json:"leads"`
	Answered         int                `json:"answered"`
	AnsweredInSLA    int                `json:"answered_in_sla"`
	SpeedP50         *float64           `json:"speed_p50_s"`
	SpeedP50Reached  bool               `json:"speed_p50_reached"`
	SpeedP95         *float64           `json:"speed_p95_s"`
	SpeedP95Reached  bool               `json:"speed_p95_reached"`
	Within1m         int                `json:"answered_within_1m"`
	Within5m         int                `json:"answered_within_5m"`
	Within15m        int                `json:"answered_within_15m"`
	Within1h         int                `json:"answered_within_1h"`
	Hot              int                `json:"qualified_hot"`
	Warm             int                `json:"qualified_warm"`
	Tourist          int                `json:"qualified_tourist"`
	HandedOff        int                `json:"handed_off"`
	SalesOffered     int                `json:"sales_offered"`
	SalesAccepted    int                `json:"sales_accepted"`
	Rejected         map[string]int     `json:"rejected_by_reason"` // sales rejections (each one; by sales manager: those they made)
	Returned         int                `json:"returned"`
	Contacted        int                `json:"contacted"`
	Won              int                `json:"won"`
	WonAmount        map[string]float64 `json:"won_amount"` // per currency
	Lost             int                `json:"lost"`
	LostByReason     map[string]int     `json:"lost_by_reason"`
	SLABreaches      int                `json:"sla_breaches"`     // released for no first reply in time
	ContactBreaches  int                `json:"contact_breaches"` // sales first_contact missed
	ClosedUnanswered int                `json:"closed_unanswered"`
	Stale            int                `json:"stale"`
	// Died: where each lost, closed-unanswered or stale lead stopped moving: "stage/manager"
	// (the last stage before it ended, and who held the lead then; "-" for nobody).
	Died map[string]int `json:"died"`

	speeds []survObs
}

func newFunnelRow(group string) FunnelRow {
	return FunnelRow{Group: group, Rejected: map[string]int{}, WonAmount: map[string]float64{},
		LostByReason: map[string]int{}, Died: map[string]int{}}
}

// survObs is one lead's speed-to-lead: answered after D (Event), or not answered within D (censored).
type survObs struct {
	D     time.Duration
	Event bool
}

// kmQuantiles returns, for each p in ps (0 < p < 1), the smallest observed time t at which
// the Kaplan–Meier estimate of the share still unanswered, S(t) = Π(1 - d_i/n_i) over the
// event times t_i ≤ t, falls to 1-p or below; ok false when it never does (too many leads
// censored before it). Censorings at an event time count as still at risk at that time.
func kmQuantiles(obs []survObs, ps ...float64) (ts []time.Duration, ok []bool) {
	ts, ok = make([]time.Duration, len(ps)), make([]bool, len(ps))
	o := append([]survObs(nil), obs...)
	sort.Slice(o, func(i, j int) bool { return o[i].D < o[j].D })
	s, atRisk := 1.0, len(o)
	for i := 0; i < len(o); {
		t, d, n := o[i].D, 0, 0
		for ; i < len(o) && o[i].D == t; i++ {
			n++
			if o[i].Event {
				d++
			}
		}
		if d > 0 {
			s *= 1 - float64(d)/float64(atRisk)
			for k, p := range ps {
				if !ok[k] && s <= 1-p+1e-9 {
					ts[k], ok[k] = t, true
				}
			}
		}
		atRisk -= n
	}
	return ts, ok
}

// leadFacts is what the report takes from one lead.
type leadFacts struct {
	channel, source, leadMgr, salesMgr string
	speed                              survObs
	answered                           bool
	level                              string
	handedOff, salesOffered, salesAcc  bool
	returned, contacted                bool
	rejections                         []string
	rejectors                          []string // who made each rejection
	slaBreaches, contactBreaches       int
	outcome, currency, lostReason      string
	amount                             float64
	closedUnanswered, stale            bool
	died                               string
}

// analyseLead reads one lead's timeline tl (oldest first); start is its first inbound
// message, end the report's end.
func analyseLead(tl []TimelineEntry, start, end time.Time, staleAfter time.Duration) leadFacts {
	var f leadFacts
	var replied, closed time.Time
	holder := make([]string, len(tl))
	h := ""
	terminal := -1
	for i, e := range tl {
		switch e.Stage {
		case StageOffered, StageAccepted, StageSalesOffered, StageSalesAccepted, StageReturned:
			h = e.Manager
		case StageOfferLapsed, StageReleased, StageSalesLapsed, StageSalesRejected, StageHandedOff:
			h = ""
		}
		holder[i] = h
		switch e.Stage {
		case StageAccepted:
			f.leadMgr = e.Manager
		case StageReplied:
			if replied.IsZero() {
				replied = e.At
			}
		case StageQualified:
			f.level = e.Extra["level"]
		case StageHandedOff:
			f.handedOff = true
		case StageSalesOffered:
			f.salesOffered = true
			if !f.salesAcc {
				f.salesMgr = e.Manager
			}
		case StageSalesAccepted:
			f.salesAcc, f.salesMgr = true, e.Manager
		case StageSalesRejected:
			f.rejections = append(f.rejections, e.Extra["reason"])
			f.rejectors = append(f.rejectors, e.Manager)
		case StageReturned:
			f.returned = true
		case StageContacted:
			f.contacted = true
		case StageReleased:
			if e.Extra["reason"] == "no_reply" {
				f.slaBreaches++
			}
		case StageContactBreach:
			f.contactBreaches++
		case StageWon:
			f.outcome, f.currency, f.lostReason, terminal = OutcomeWon, e.Extra["currency"], "", i
			f.amount, _ = strconv.ParseFloat(e.Extra["amount"], 64)
		case StageLost:
			f.outcome, f.lostReason, f.amount, f.currency, terminal = OutcomeLost, e.Extra["reason"], 0, "", i
		case StageOutcomeChanged:
			if to := e.Extra["to"]; to == OutcomeWon || to == OutcomeLost {
				f.outcome, terminal = to, i
				if to == OutcomeWon {
					f.lostReason = ""
					if a, err := strconv.ParseFloat(e.Extra["amount"], 64); err == nil {
						f.amount = a
					}
					if c := e.Extra["currency"]; c != "" {
						f.currency = c
					}
				} else {
					f.amount, f.currency = 0, ""
					if r := e.Extra["reason"]; r != "" {
						f.lostReason = r
					}
				}
			}
		case StageClosed:
			closed = e.At
			f.closedUnanswered = e.Extra["unanswered"] == "1"
			if f.outcome == "" {
				terminal = i
			}
		}
	}
	f.answered = !replied.IsZero()
	switch {
	case f.answered:
		f.speed = survObs{D: nonNeg(replied.Sub(start)), Event: true}
	case !closed.IsZero():
		f.speed = survObs{D: nonNeg(closed.Sub(start))}
	default:
		f.speed = survObs{D: nonNeg(end.Sub(start))}
	}
	if f.outcome != OutcomeWon && f.outcome != OutcomeLost && closed.IsZero() && len(tl) > 0 &&
		end.Sub(tl[len(tl)-1].At) >= staleAfter {
		f.stale = true
	}
	died := -1
	switch {
	case f.outcome == OutcomeLost || (f.outcome == "" && f.closedUnanswered):
		died = terminal - 1
	case f.stale:
		died = len(tl) - 1
	}
	if died >= 0 {
		who := holder[died]
		if who == "" {
			who = tl[died].Manager
		}
		if who == "" {
			who = "-"
		}
		f.died = tl[died].Stage + "/" + who
	}
	return f
}

func nonNeg(d time.Duration) time.Duration { return max(d, 0) }

func (r *FunnelRow) add(f leadFacts, target time.Duration) {
	r.Leads++
	r.speeds = append(r.speeds, f.speed)
	if f.answered {
		r.Answered++
		if f.speed.D <= target {
			r.AnsweredInSLA++
		}
		for i, n := range []*int{&r.Within1m, &r.Within5m, &r.Within15m, &r.Within1h} {
			if f.speed.D <= SpeedBands[i] {
				*n++
			}
		}
	}
	switch f.level {
	case "hot":
		r.Hot++
	case "warm":
		r.Warm++
	case "tourist":
		r.Tourist++
	}
	count := func(n *int, b bool) {
		if b {
			*n++
		}
	}
	count(&r.HandedOff, f.handedOff)
	count(&r.SalesOffered, f.salesOffered)
	count(&r.SalesAccepted, f.salesAcc)
	count(&r.Returned, f.returned)
	count(&r.Contacted, f.contacted)
	count(&r.ClosedUnanswered, f.closedUnanswered && f.outcome == "")
	count(&r.Stale, f.stale)
	r.countRejections(f)
	r.SLABreaches += f.slaBreaches
	r.ContactBreaches += f.contactBreaches
	switch f.outcome {
	case OutcomeWon:
		r.Won++
		if f.amount != 0 {
			r.WonAmount[orOther(f.currency)] += f.amount
		}
	case OutcomeLost:
		r.Lost++
		r.LostByReason[orOther(f.lostReason)]++
	}
	if f.died != "" {
		r.Died[f.died]++
	}
}

// countRejections counts each of the lead's sales rejections by reason.
func (r *FunnelRow) countRejections(f leadFacts) {
	for _, reason := range f.rejections {
		r.Rejected[orOther(reason)]++
	}
}

func orOther(s string) string {
	if s == "" {
		return "other"
	}
	return s
}

func (r *FunnelRow) finish() {
	ts, ok := kmQuantiles(r.speeds, 0.5, 0.95)
	if ok[0] {
		v := ts[0].Seconds()
		r.SpeedP50, r.SpeedP50Reached = &v, true
	}
	if ok[1] {
		v := ts[1].Seconds()
		r.SpeedP95, r.SpeedP95Reached = &v, true
	}
	r.speeds = nil
}

// funnelBatch is how many leads one pipelined round trip reads.
const funnelBatch = 200

// Funnel builds the funnel report (see FunnelQuery, Funnel).
func (r *Router) Funnel(ctx context.Context, q FunnelQuery) (*Funnel, error) {
	switch q.By {
	case ByLeadManager, BySalesManager, ByChannel, BySource:
	default:
		return nil, fmt.Errorf("%w: by must be lead_manager, sales_manager, channel or source", ErrInvalid)
	}
	if !q.To.After(q.From) {
		return nil, fmt.Errorf("%w: to must be after from", ErrInvalid)
	}
	if q.StaleAfter <= 0 {
		q.StaleAfter = DefaultStaleAfter
	}
	b := r.b
	end := q.To
	if now := b.clock.Now(); now.Before(end) {
		end = now
	}
	ids, err := b.rdb.ZRangeByScore(ctx, b.keys.leads(), &redis.ZRangeBy{
		Min: strconv.FormatInt(ms(q.From), 10), Max: "(" + strconv.FormatInt(ms(q.To), 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	target := b.cfg.SpeedTarget
	out := &Funnel{From: q.From, To: q.To, By: q.By, SpeedTarget: target.Seconds(), Total: newFunnelRow("total")}
	groups := map[string]*FunnelRow{}
	rowOf := func(g string) *FunnelRow { // the group's row, created on first use
		if g == "" {
			g = NoGroup
		}
		row := groups[g]
		if row == nil {
			nr := newFunnelRow(g)
			row = &nr
			groups[g] = row
		}
		return row
	}
	for len(ids) > 0 {
		n := min(len(ids), funnelBatch)
		batch := ids[:n]
		ids = ids[n:]
		pipe := b.rdb.Pipeline()
		hs := make([]*redis.SliceCmd, n)
		tls := make([]*redis.StringSliceCmd, n)
		for i, s := range batch {
			id, _ := strconv.ParseInt(s, 10, 64)
			hs[i] = pipe.HMGet(ctx, b.keys.conv(id), "ch", "src", "first_in", "created")
			tls[i] = pipe.LRange(ctx, b.keys.timeline(id), 0, -1)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, fmt.Errorf("funnel: %w", err)
		}
		for i := range batch {
			v := hs[i].Val()
			if len(v) < 4 || v[0] == nil {
				continue // erased or retired meanwhile
			}
			str := func(x any) string { s, _ := x.(string); return s }
			tl := decodeTimeline(tls[i].Val())
			start := fromMS(atoi64(str(v[2])))
			if start.IsZero() {
				start = fromMS(atoi64(str(v[3])))
			}
			f := analyseLead(tl, start, end, q.StaleAfter)
			f.channel, f.source = str(v[0]), str(v[1])
			g := ""
			switch q.By {
			case ByLeadManager:
				g = f.leadMgr
			case BySalesManager:
				g = f.salesMgr
			case ByChannel:
				g = f.channel
			case BySource:
				g = f.source
			}
			row := rowOf(g)
			if q.By == BySalesManager {
				// by sales manager a rejection counts for the one who made it (who may have
				// no lead of their own in the report), not for the one who took the lead later
				for i, by := range f.rejectors {
					rowOf(by).Rejected[orOther(f.rejections[i])]++
				}
				out.Total.countRejections(f)
				f.rejections = nil
			}
			row.add(f, target)
			out.Total.add(f, target)
		}
	}
	for _, row := range groups {
		row.finish()
		out.Groups = append(out.Groups, *row)
	}
	sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Group < out.Groups[j].Group })
	out.Total.finish()
	if out.Groups == nil {
		out.Groups = []FunnelRow{}
	}
	return out, nil
}

func atoi64(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }

// funnelColumns are the fixed CSV and table columns.
var funnelColumns = []string{"group", "leads", "answered", "answered_in_sla", "speed_p50_s", "speed_p95_s",
	"answered_within_1m", "answered_within_5m", "answered_within_15m", "answered_within_1h",
	"qualified_hot", "qualified_warm", "qualified_tourist", "handed_off", "sales_offered", "sales_accepted",
	"returned", "contacted", "won", "lost", "sla_breaches", "contact_breaches", "closed_unanswered", "stale"}

func (r FunnelRow) fixed() []string {
	sec := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	is := strconv.Itoa
	return []string{r.Group, is(r.Leads), is(r.Answered), is(r.AnsweredInSLA), sec(r.SpeedP50), sec(r.SpeedP95),
		is(r.Within1m), is(r.Within5m), is(r.Within15m), is(r.Within1h),
		is(r.Hot), is(r.Warm), is(r.Tourist), is(r.HandedOff), is(r.SalesOffered), is(r.SalesAccepted),
		is(r.Returned), is(r.Contacted), is(r.Won), is(r.Lost), is(r.SLABreaches), is(r.ContactBreaches),
		is(r.ClosedUnanswered), is(r.Stale)}
}

// rows is the groups then the total.
func (f *Funnel) rows() []FunnelRow { return append(append([]FunnelRow(nil), f.Groups...), f.Total) }

// mapKeys is the sorted union of the keys of one map field over the rows.
func mapKeys[V any](rows []FunnelRow, m func(FunnelRow) map[string]V) []string {
	seen := map[string]bool{}
	var ks []string
	for _, r := range rows {
		for k := range m(r) {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, k)
			}
		}
	}
	sort.Strings(ks)
	return ks
}

func fmtAmount(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

// WriteCSV writes the report as CSV: the fixed columns, then one column per rejection
// reason (rejected:<reason>), currency (won_amount:<currency>), loss reason (lost:<reason>)
// and place of death (died:<stage>/<manager>) found in it; a null percentile is empty. The
// last row is the total.
func (f *Funnel) WriteCSV(w io.Writer) error {
	rows := f.rows()
	rej := mapKeys(rows, func(r FunnelRow) map[string]int { return r.Rejected })
	cur := mapKeys(rows, func(r FunnelRow) map[string]float64 { return r.WonAmount })
	lost := mapKeys(rows, func(r FunnelRow) map[string]int { return r.LostByReason })
	died := mapKeys(rows, func(r FunnelRow) map[string]int { return r.Died })
	head := append([]string(nil), funnelColumns...)
	for _, k := range rej {
		head = append(head, "rejected:"+k)
	}
	for _, k := range cur {
		head = append(head, "won_amount:"+k)
	}
	for _, k := range lost {
		head = append(head, "lost:"+k)
	}
	for _, k := range died {
		head = append(head, "died:"+k)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range rows {
		rec := r.fixed()
		for _, k := range rej {
			rec = append(rec, strconv.Itoa(r.Rejected[k]))
		}
		for _, k := range cur {
			rec = append(rec, fmtAmount(r.WonAmount[k]))
		}
		for _, k := range lost {
			rec = append(rec, strconv.Itoa(r.LostByReason[k]))
		}
		for _, k := range died {
			rec = append(rec, strconv.Itoa(r.Died[k]))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes the report as a terminal table: the main columns, then per row the
// rejection and loss reasons, won amounts and places of death as key=count lists.
func (f *Funnel) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Funnel %s .. %s by %s (speed target %s)\n\n", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339),
		f.By, time.Duration(f.SpeedTarget*float64(time.Second)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	short := []string{"group", "leads", "answered", "in SLA", "p50", "p95", "≤1m", "≤5m", "≤15m", "≤1h",
		"hot", "warm", "tourist", "handed", "s.offered", "s.accepted", "returned", "contacted", "won", "lost",
		"breaches", "c.breaches", "unanswered", "stale", ""}
	fmt.Fprintln(tw, strings.Join(short, "\t"))
	for _, r := range f.rows() {
		rec := r.fixed()
		for i, c := range []*float64{r.SpeedP50, r.SpeedP95} {
			if c == nil {
				rec[4+i] = "n/r" // not reached
			} else {
				rec[4+i] = time.Duration(*c * float64(time.Second)).String()
			}
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	kv := func(m map[string]int) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var parts []string
		for _, k := range ks {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
		return strings.Join(parts, " ")
	}
	for _, r := range f.rows() {
		var amounts []string
		for _, c := range mapKeys([]FunnelRow{r}, func(r FunnelRow) map[string]float64 { return r.WonAmount }) {
			amounts = append(amounts, c+"="+fmtAmount(r.WonAmount[c]))
		}
		for _, l := range [][2]string{{"rejected", kv(r.Rejected)}, {"won amount", strings.Join(amounts, " ")},
			{"lost", kv(r.LostByReason)}, {"died", kv(r.Died)}} {
			if l[1] != "" {
				fmt.Fprintf(w, "%s: %s: %s\n", r.Group, l[0], l[1])
			}
		}
	}
	fmt.Fprintln(w, "n/r: not reached (too many leads never answered to estimate it)")
	return nil
}
