package simulate

import (
	"math"
	"sort"
	"time"
)

// Report is the outcome of one router set-up over all runs. Times are seconds. A percentile
// that falls among leads never answered within the simulation is null (censored: the true
// value is longer than the simulation).
type Report struct {
	Name     string        `json:"name"`
	Scenario string        `json:"scenario"`
	Router   RouterSummary `json:"router"`
	Runs     int           `json:"runs"`
	Seed     uint64        `json:"seed"`
	Start    time.Time     `json:"start"`
	Days     int           `json:"days"`
	TimeZone string        `json:"tz"`

	Leads       int          `json:"leads"` // counted leads, all runs
	LeadsPerDay float64      `json:"leads_per_day"`
	Answered    int          `json:"answered"`
	Unanswered  int          `json:"unanswered"`
	SpeedToLead Percentiles  `json:"speed_to_lead"`
	Mean        *float64     `json:"mean_answered"` // mean over answered leads
	Within      []Band       `json:"within"`
	Histogram   []HistBin    `json:"histogram"`
	Hours       []HourRow    `json:"hours"`
	Queue       []QueueBin   `json:"queue"`
	Managers    []ManagerRow `json:"managers"`
	Sales       *SalesReport `json:"sales,omitempty"` // the second tier, when simulated
	PerDay      Counters     `json:"per_day"`         // averages per simulated day
	Perf        Perf         `json:"perf"`

	hourWaits [][]float64 // sorted waits (+Inf: never answered) of leads arriving in each hour
}

// hourPercentile is the p-th percentile of speed-to-lead of leads arriving in hour h.
func (r *Report) hourPercentile(h int, p float64) *float64 {
	if h < 0 || h >= len(r.hourWaits) {
		return nil
	}
	return percentile(r.hourWaits[h], p)
}

// RouterSummary is the router set-up of a report.
type RouterSummary struct {
	Strategy      string  `json:"strategy"`
	OfferTimeout  float64 `json:"offer_timeout"`
	FirstResponse float64 `json:"first_response"`
	MaxOffers     int     `json:"max_offers"`
	AssignOnce    bool    `json:"assign_once,omitempty"`
}

// Percentiles of speed-to-lead in seconds (nil: not answered by the end).
type Percentiles struct {
	P50 *float64 `json:"p50"`
	P90 *float64 `json:"p90"`
	P95 *float64 `json:"p95"`
	P99 *float64 `json:"p99"`
}

// Band is the share of leads answered within Limit seconds (unanswered leads count as not).
type Band struct {
	Limit float64 `json:"limit"`
	Share float64 `json:"share"`
}

// HistBin is the share of leads answered in [From, To) seconds; To 0 on the last answered
// bin means "and longer"; Unanswered marks the bin of leads never answered.
type HistBin struct {
	From       float64 `json:"from"`
	To         float64 `json:"to"`
	Share      float64 `json:"share"`
	Unanswered bool    `json:"unanswered,omitempty"`
}

// HourRow is speed-to-lead of leads arriving in one hour of the day.
type HourRow struct {
	Hour       int      `json:"hour"`
	Leads      float64  `json:"leads_per_day"`
	P50        *float64 `json:"p50"`
	P95        *float64 `json:"p95"`
	Within1m   float64  `json:"within_1m"`
	Within5m   float64  `json:"within_5m"`
	Unanswered float64  `json:"unanswered"`
	Online     float64  `json:"managers_online"` // mean lead-managers online in the hour
}

// QueueBin is the waiting queue (conversations nobody holds) over 15 minutes of the day.
type QueueBin struct {
	Minute int     `json:"minute"` // of the day
	Mean   float64 `json:"mean"`
	Max    int     `json:"max"`
}

// ManagerRow is one lead-manager, averaged per simulated day.
type ManagerRow struct {
	ID          string  `json:"id"`
	Capacity    int     `json:"capacity"`
	OnlineHours float64 `json:"online_hours"`
	Utilisation float64 `json:"utilisation"` // mean open conversations / capacity while online
	Busy        float64 `json:"busy"`        // share of online time with at least one conversation
	Offers      float64 `json:"offers"`
	Ignored     float64 `json:"ignored"`
	Accepted    float64 `json:"accepted"`
	Handled     float64 `json:"handled"`
}

// Counters are router events per simulated day.
type Counters struct {
	Reoffers      float64 `json:"reoffers"`
	OfferTimeouts float64 `json:"offer_timeouts"` // breaches: offers not accepted in time
	ReplyBreaches float64 `json:"reply_breaches"` // breaches: accepted, no first reply in time
	Escalations   float64 `json:"escalations"`    // after max_offers
	GivenBack     float64 `json:"given_back"`     // offers and unanswered conversations returned by managers going offline
	LateActions   float64 `json:"late_actions"`   // a manager acted on an offer already gone
}

// Perf is how fast the simulation ran (not part of the deterministic result).
type Perf struct {
	SimulatedSeconds float64 `json:"simulated_seconds"`
	WallSeconds      float64 `json:"wall_seconds"`
	SpeedUp          float64 `json:"speed_up"` // simulated seconds per real second
	Moments          int     `json:"moments"`  // distinct simulated moments something happened at
	RouterSteps      int     `json:"router_steps"`
}

var bandLimits = []float64{60, 300, 900, 3600}
var histEdges = []float64{0, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600}

func ptr(v float64) *float64 { return &v }

// percentile of waits where unanswered leads are +Inf (nil when the percentile is one).
func percentile(sorted []float64, p float64) *float64 {
	if len(sorted) == 0 {
		return nil
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if math.IsInf(sorted[i], 1) {
		return nil
	}
	return ptr(math.Round(sorted[i]*1000) / 1000)
}

func buildReport(sc *Scenario, v *variant, seed uint64, runs []*runResult) *Report {
	rep := &Report{Name: v.name, Scenario: sc.Name, Runs: len(runs), Seed: seed, Start: sc.start,
		Days: sc.Days, TimeZone: sc.loc.String(),
		Router: RouterSummary{Strategy: v.cfg.Strategy, OfferTimeout: v.cfg.OfferTimeout.Seconds(),
			FirstResponse: v.cfg.FirstResponse.Seconds(), MaxOffers: v.cfg.MaxOffers, AssignOnce: v.assignOnce}}
	if v.assignOnce {
		rep.Router.OfferTimeout, rep.Router.FirstResponse = 0, 0
	}
	days := float64(len(runs) * sc.Days)
	w := sc.window()
	var all []float64
	hours := make([][]float64, 24)
	sum, nAns := 0.0, 0
	for _, r := range runs {
		for _, l := range r.leads {
			if !l.counted {
				continue
			}
			x := math.Inf(1)
			if l.answered {
				x = l.wait.Seconds()
				sum += x
				nAns++
			}
			all = append(all, x)
			h := l.At.In(sc.loc).Hour()
			hours[h] = append(hours[h], x)
		}
	}
	sort.Float64s(all)
	rep.Leads = len(all)
	rep.LeadsPerDay = float64(len(all)) / days
	rep.Answered = nAns
	rep.Unanswered = len(all) - nAns
	if nAns > 0 {
		rep.Mean = ptr(math.Round(sum/float64(nAns)*1000) / 1000)
	}
	rep.SpeedToLead = Percentiles{P50: percentile(all, .50), P90: percentile(all, .90), P95: percentile(all, .95), P99: percentile(all, .99)}
	for _, lim := range bandLimits {
		rep.Within = append(rep.Within, Band{Limit: lim, Share: shareWithin(all, lim)})
	}
	for i, from := range histEdges {
		b := HistBin{From: from}
		hi := math.Inf(1)
		if i+1 < len(histEdges) {
			b.To, hi = histEdges[i+1], histEdges[i+1]
		}
		b.Share = shareWithin(all, hi) - shareWithin(all, from)
		rep.Histogram = append(rep.Histogram, b)
	}
	rep.Histogram = append(rep.Histogram, HistBin{Share: share(rep.Unanswered, rep.Leads), Unanswered: true})

	online := onlinePerHour(sc, v, w)
	rep.hourWaits = hours
	for h := 0; h < 24; h++ {
		ws := hours[h]
		sort.Float64s(ws)
		row := HourRow{Hour: h, Leads: float64(len(ws)) / days, Online: online[h]}
		if len(ws) > 0 {
			row.P50, row.P95 = percentile(ws, .5), percentile(ws, .95)
			row.Within1m, row.Within5m = shareWithin(ws, 60), shareWithin(ws, 300)
			row.Unanswered = 1 - shareWithin(ws, math.Inf(1))
		}
		rep.Hours = append(rep.Hours, row)
	}
	rep.Queue = queueBins(sc, w, runs)

	byID := map[string]*ManagerRow{}
	for _, r := range runs {
		for _, m := range r.mgrs {
			row := byID[m.id]
			if row == nil {
				row = &ManagerRow{ID: m.id, Capacity: m.capacity}
				byID[m.id] = row
			}
			row.OnlineHours += m.online.Hours()
			row.Utilisation += m.load
			row.Busy += m.busy.Seconds()
			row.Offers += float64(m.offers)
			row.Ignored += float64(m.ignored)
			row.Accepted += float64(m.accepted)
			row.Handled += float64(m.handled)
		}
	}
	for _, m := range v.team {
		row := byID[m.m.ID]
		if row == nil {
			continue
		}
		if row.OnlineHours > 0 {
			row.Utilisation = round3(row.Utilisation / (row.OnlineHours * 3600))
			row.Busy = round3(row.Busy / (row.OnlineHours * 3600))
		}
		row.OnlineHours = round3(row.OnlineHours / days)
		row.Offers, row.Ignored = round3(row.Offers/days), round3(row.Ignored/days)
		row.Accepted, row.Handled = round3(row.Accepted/days), round3(row.Handled/days)
		rep.Managers = append(rep.Managers, *row)
	}
	rep.Sales = buildSalesReport(v, runs, days)
	var sim, wall float64
	for _, r := range runs {
		rep.PerDay.Reoffers += float64(r.reoffers)
		rep.PerDay.OfferTimeouts += float64(r.lapsed)
		rep.PerDay.ReplyBreaches += float64(r.noReply)
		rep.PerDay.Escalations += float64(r.escalations)
		rep.PerDay.GivenBack += float64(r.offline)
		rep.PerDay.LateActions += float64(r.lateActions)
		sim += r.simulated.Seconds()
		wall += r.wall.Seconds()
		rep.Perf.Moments += r.instants
		rep.Perf.RouterSteps += r.steps
	}
	c := &rep.PerDay
	c.Reoffers, c.OfferTimeouts, c.ReplyBreaches = round3(c.Reoffers/days), round3(c.OfferTimeouts/days), round3(c.ReplyBreaches/days)
	c.Escalations, c.GivenBack, c.LateActions = round3(c.Escalations/days), round3(c.GivenBack/days), round3(c.LateActions/days)
	rep.Perf.SimulatedSeconds, rep.Perf.WallSeconds = sim, round3(wall)
	if wall > 0 {
		rep.Perf.SpeedUp = math.Round(sim / wall)
	}
	return rep
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return round3(float64(n) / float64(of))
}

// shareWithin is the share of sorted waits strictly below lim (+Inf: every answered one).
func shareWithin(sorted []float64, lim float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	n := sort.Search(len(sorted), func(i int) bool { return !(sorted[i] < lim) })
	if math.IsInf(lim, 1) {
		n = sort.Search(len(sorted), func(i int) bool { return math.IsInf(sorted[i], 1) })
	}
	return round3(float64(n) / float64(len(sorted)))
}

// onlinePerHour is the mean number of lead-managers online (on shift, not on a break) in each
// hour of the day over the arrival window, from the roster.
func onlinePerHour(sc *Scenario, v *variant, w window) []float64 {
	out := make([]float64, 24)
	n := make([]float64, 24)
	for t := w.start; t.Before(w.end); t = t.Add(time.Minute) {
		h := t.In(sc.loc).Hour()
		n[h]++
		for i := range v.team {
			m := &v.team[i]
			if !m.m.OnShift(t) {
				continue
			}
			on := true
			for k := range m.breaks {
				if m.breaks[k].Contains(t) {
					on = false
				}
			}
			if on {
				out[h]++
			}
		}
	}
	for h := range out {
		if n[h] > 0 {
			out[h] = round3(out[h] / n[h])
		}
	}
	return out
}

// queueBins folds every run's queue length (a step function) into 15-minute bins of the day
// over the arrival window: time-weighted mean and maximum.
func queueBins(sc *Scenario, w window, runs []*runResult) []QueueBin {
	const bin = 15
	nb := 24 * 60 / bin
	area := make([]float64, nb)
	dur := make([]float64, nb)
	max := make([]int, nb)
	for _, r := range runs {
		pts := r.queue
		for i, p := range pts {
			from := p.at
			to := w.end
			if i+1 < len(pts) && pts[i+1].at.Before(to) {
				to = pts[i+1].at
			}
			if from.Before(w.start) {
				from = w.start
			}
			for from.Before(to) {
				lt := from.In(sc.loc)
				b := (lt.Hour()*60 + lt.Minute()) / bin
				binEnd := from.Add(time.Duration(bin*60-(lt.Minute()%bin)*60-lt.Second())*time.Second - time.Duration(lt.Nanosecond()))
				seg := to
				if binEnd.Before(seg) {
					seg = binEnd
				}
				d := seg.Sub(from).Seconds()
				area[b] += d * float64(p.n)
				dur[b] += d
				if p.n > max[b] {
					max[b] = p.n
				}
				from = seg
			}
		}
	}
	out := make([]QueueBin, nb)
	for b := range out {
		out[b] = QueueBin{Minute: b * bin, Max: max[b]}
		if dur[b] > 0 {
			out[b].Mean = round3(area[b] / dur[b])
		}
	}
	return out
}
