package simulate

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lidorub/lidorub/router"
)

// Target is a speed-to-lead goal: the Percentile of leads answered within Limit.
type Target struct {
	Percentile float64       // 0.95
	Limit      time.Duration // 60s
}

func (t Target) String() string {
	return fmt.Sprintf("p%s<%s", strconv.FormatFloat(t.Percentile*100, 'f', -1, 64), t.Limit)
}

var targetRe = regexp.MustCompile(`^p(\d{1,2}(?:\.\d+)?)\s*<\s*(\S+)$`)

// ParseTarget reads "p95<60s".
func ParseTarget(s string) (Target, error) {
	m := targetRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Target{}, fmt.Errorf("--staff-for %q: want pNN<DURATION, like p95<60s", s)
	}
	p, _ := strconv.ParseFloat(m[1], 64)
	d, err := time.ParseDuration(m[2])
	if err != nil || d <= 0 || p <= 0 || p >= 100 {
		return Target{}, fmt.Errorf("--staff-for %q: want pNN<DURATION, like p95<60s", s)
	}
	return Target{Percentile: p / 100, Limit: d}, nil
}

// StaffPlan is the hour-by-hour roster found by StaffFor.
type StaffPlan struct {
	Target      string      `json:"target"`
	Capacity    int         `json:"capacity"`
	Met         bool        `json:"met"`
	Evaluations int         `json:"evaluations"`
	Hours       []StaffHour `json:"hours"`
	Report      *Report     `json:"report"` // the final roster's simulation
}

// StaffHour is one hour of the staffing table.
type StaffHour struct {
	Hour     int      `json:"hour"`
	Leads    float64  `json:"leads_per_day"`
	Managers int      `json:"managers"`
	Value    *float64 `json:"value"` // the target percentile of leads arriving in the hour (null: never answered)
	Met      bool     `json:"met"`
}

// StaffFor searches, hour of day by hour of day, for the smallest number of lead-managers
// (the scenario's staffing capacity and default behaviour) that meets the target with the
// configured router. It starts every hour at the smallest stable count and adds one manager
// to every hour that misses the target, re-simulating the whole day each time (queues carry
// over between hours), until every hour meets it.
func StaffFor(ctx context.Context, o Options, t Target) (*StaffPlan, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	sc := o.Scenario
	leads, err := o.leads()
	if err != nil {
		return nil, err
	}
	days := float64(o.Runs * sc.Days)
	perHour := make([]float64, 24)
	for _, ls := range leads {
		for _, l := range ls {
			perHour[l.At.In(sc.loc).Hour()] += 1 / days
		}
	}
	st := sc.Leads.Staffing
	b := sc.Leads.Behaviour
	// Every hour starts at the smallest stable count (offered load below the conversation
	// slots, service = notice + reply + handling) and only grows, so each count found is one
	// whose predecessor was simulated and missed (or the stable minimum). (Starting just below
	// the Erlang C answer would save simulations but can overshoot: the example's 19:00 burst
	// needs 5 lead-managers, one below where that start would put it.)
	service := b.Notice.MeanDuration() + b.Reply.MeanDuration() + b.Handling.MeanDuration()
	n := make([]int, 24)
	for h := range n {
		if perHour[h] > 0 {
			n[h] = int(math.Floor(perHour[h]*service.Hours()/float64(st.Capacity))) + 1
		}
	}
	res := &StaffPlan{Target: t.String(), Capacity: st.Capacity}
	if floor := responseFloor(b, o.baseConfig(), o.Seed, t.Percentile); floor >= t.Limit {
		return nil, fmt.Errorf("%s is out of reach with this behaviour: even with a free lead-manager for every lead, "+
			"noticing, re-offers and the first reply alone put p%.0f at about %s", t, t.Percentile*100, floor.Round(time.Second))
	}
	for {
		v := o.variantFor(nil)
		v.name = "staffing " + rosterString(n)
		v.team = staffTeam(sc, n, st.Capacity, b)
		rep, err := o.runVariant(ctx, v, leads)
		if err != nil {
			return nil, err
		}
		res.Evaluations++
		res.Report = rep
		res.Hours = res.Hours[:0]
		missed := false
		grow := make([]int, 24)
		for h := 0; h < 24; h++ {
			sh := StaffHour{Hour: h, Leads: round3(perHour[h]), Managers: n[h]}
			sh.Value = rep.hourPercentile(h, t.Percentile)
			sh.Met = perHour[h] == 0 || (sh.Value != nil && *sh.Value < t.Limit.Seconds())
			if !sh.Met {
				missed = true
				grow[h] = 1
			}
			res.Hours = append(res.Hours, sh)
		}
		if !missed {
			res.Met = true
			return res, nil
		}
		capped := true
		for h := range n {
			if grow[h] > 0 && n[h] < st.MaxPerHour {
				n[h]++
				capped = false
			}
		}
		if capped {
			return res, nil
		}
		o.progress("staffing: %d hour(s) miss %s, adding a lead-manager to each", countPos(grow), t)
	}
}

func countPos(xs []int) int {
	k := 0
	for _, x := range xs {
		if x > 0 {
			k++
		}
	}
	return k
}

func rosterString(n []int) string {
	var b strings.Builder
	for _, x := range n {
		fmt.Fprintf(&b, "%d", x)
	}
	return b.String()
}

// staffTeam builds generic lead-managers: the j-th works every hour h with n[h] > j.
func staffTeam(sc *Scenario, n []int, capacity int, b Behaviour) []simManager {
	max := 0
	for _, x := range n {
		if x > max {
			max = x
		}
	}
	var team []simManager
	for j := 0; j < max; j++ {
		var shifts []router.Shift
		for h := 0; h < 24; {
			if n[h] <= j {
				h++
				continue
			}
			from := h
			for h < 24 && n[h] > j {
				h++
			}
			shifts = append(shifts, router.Shift{From: fmt.Sprintf("%02d:00", from), To: fmt.Sprintf("%02d:00", h), TimeZone: sc.loc.String()})
		}
		if len(shifts) == 1 && shifts[0].From == "00:00" && shifts[0].To == "24:00" {
			shifts = nil // all day
		}
		team = append(team, simManager{m: router.Manager{ID: fmt.Sprintf("staff-%d", j+1), Role: router.RoleLead,
			Capacity: capacity, Weight: 1, Shifts: shifts}, b: b})
	}
	return team
}

// WriteText prints the staffing table.
func (s *StaffPlan) WriteText(w io.Writer) {
	verdict := "every hour meets it"
	if !s.Met {
		verdict = "NOT met in some hours even at staffing.max_per_hour"
	}
	fmt.Fprintf(w, "staffing for %s (lead-managers of capacity %d, the scenario's behaviour): %s after %d simulation(s)\n\n",
		s.Target, s.Capacity, verdict, s.Evaluations)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "hour\tleads/day\tlead-managers\t%s\tmet\t\n", strings.SplitN(s.Target, "<", 2)[0])
	total := 0
	for _, h := range s.Hours {
		total += h.Managers
		if h.Leads == 0 && h.Managers == 0 {
			continue
		}
		v, met := "-", "yes"
		if h.Leads > 0 {
			v = fmtSec(h.Value)
		}
		if !h.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "%02d:00\t%.1f\t%d\t%s\t%s\t\n", h.Hour, h.Leads, h.Managers, v, met)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d manager-hours a day\n", total)
}

// responseFloor estimates the target percentile of speed-to-lead when nobody ever waits for a
// free manager: only the behaviour (noticing, ignoring, replying) and the router's timeouts
// count. Staffing cannot go below it.
func responseFloor(b Behaviour, cfg router.Config, seed uint64, p float64) time.Duration {
	const n = 20000
	r := stream(seed, "floor")
	waits := make([]time.Duration, n)
	for i := range waits {
		var t time.Duration
		for offer := 0; offer < 50; offer++ {
			if r.Float64() < *b.Ignore {
				t += cfg.OfferTimeout
				continue
			}
			nt := b.Notice.Sample(r)
			if nt >= cfg.OfferTimeout {
				t += cfg.OfferTimeout
				continue
			}
			rt := b.Reply.Sample(r)
			if rt >= cfg.FirstResponse {
				t += nt + cfg.FirstResponse
				continue
			}
			t += nt + rt
			break
		}
		waits[i] = t
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	return waits[int(math.Ceil(p*n))-1]
}
