// Package simulate runs days of leads through the real router — its Lua scripts, timers
// and queue, on Redis (embedded or real) — on a simulated clock, with lead-managers modelled
// as people who notice offers late, ignore some, reply and handle conversations; and reports
// speed-to-lead, queues and utilisation, compares router settings on the same arrivals, and
// searches hour by hour for the smallest roster that meets a speed-to-lead target.
//
// Time is a discrete-event loop: the fake clock jumps to the next arrival, manager action or
// router timer deadline, and the router is driven by Settle (no sleeping, no background
// workers), so a day takes seconds.
package simulate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lidorub/lidorub/router"
)

// Options of a simulation.
type Options struct {
	Scenario *Scenario
	// Router is the config's router section (zero: the defaults); the scenario's router:
	// overrides it.
	Router router.Config
	// Sales is the config's sales: section (zero: the defaults) and Managers its managers:
	// (those with role: sales are the sales roster when the scenario's sales: has none).
	Sales    router.SalesConfig
	Managers []router.Manager
	Runs     int    // independent runs (different arrivals), default 1
	Seed     uint64 // run k uses seed+k
	Backend  *Backend
	// Parallel: runs simulated at the same time (default 2; each is mostly waiting on Redis).
	Parallel int
	// Progress, if set, is told about each run.
	Progress func(format string, args ...any)
}

func (o *Options) defaults() error {
	if o.Scenario == nil {
		return fmt.Errorf("simulate: no scenario")
	}
	if o.Runs <= 0 {
		o.Runs = 1
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Backend == nil {
		b, err := NewBackend("")
		if err != nil {
			return err
		}
		o.Backend = b
	}
	return o.checkSales()
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(format, args...)
	}
}

// baseConfig is the router config under test: the config file's, the scenario's overrides,
// defaults, and no escalation recipients (the roster is the scenario's).
func (o *Options) baseConfig() router.Config {
	c := o.Scenario.Router.apply(o.Router)
	c.Escalation = router.Escalation{}
	c.Defaults()
	return c
}

// variantFor builds the variant of an alternative (nil: the base configuration).
func (o *Options) variantFor(alt *Alternative) *variant {
	sc := o.Scenario
	v := &variant{name: "configured", cfg: o.baseConfig(), team: sc.team(), sales: o.salesVariantFor(alt)}
	if alt == nil {
		return v
	}
	v.name = alt.Name
	v.cfg = alt.Router.apply(v.cfg)
	if alt.AssignOnce {
		v.assignOnce = true
		// Nothing lapses and nothing is taken back within the simulation: one offer, kept.
		never := sc.window().stop.Sub(sc.start) + 24*time.Hour
		v.cfg.OfferTimeout, v.cfg.FirstResponse, v.cfg.MaxOffers = never, never, 1
	}
	return v
}

// Leads generates the arrivals of every run.
func (o *Options) leads() ([][]Lead, error) {
	out := make([][]Lead, o.Runs)
	for k := range out {
		l, err := o.Scenario.GenerateLeads(o.Seed + uint64(k))
		if err != nil {
			return nil, err
		}
		out[k] = l
	}
	return out, nil
}

func (o *Options) runVariant(ctx context.Context, v *variant, leads [][]Lead) (*Report, error) {
	reps, err := o.runAll(ctx, []*variant{v}, leads)
	if err != nil {
		return nil, err
	}
	return reps[0], nil
}

// runAll runs every variant on every run's leads and builds a report per variant.
func (o *Options) runAll(ctx context.Context, vs []*variant, leads [][]Lead) ([]*Report, error) {
	results, err := o.runResults(ctx, vs, leads)
	if err != nil {
		return nil, err
	}
	reps := make([]*Report, len(vs))
	for i, v := range vs {
		reps[i] = buildReport(o.Scenario, v, o.Seed, results[i])
	}
	return reps, nil
}

// runResults runs every variant on every run's leads, Parallel at a time; the results do not
// depend on the order (each run has its own Redis state and random streams).
func (o *Options) runResults(ctx context.Context, vs []*variant, leads [][]Lead) ([][]*runResult, error) {
	type job struct{ v, k int }
	results := make([][]*runResult, len(vs))
	for i := range results {
		results[i] = make([]*runResult, len(leads))
	}
	jobs := make(chan job)
	errs := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < o.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				v := vs[j.v]
				res, err := runOnce(ctx, o.Backend, o.Scenario, v, leads[j.k], o.Seed+uint64(j.k))
				if err != nil {
					select {
					case errs <- fmt.Errorf("%s, run %d: %w", v.name, j.k+1, err):
					default:
					}
					cancel()
					continue
				}
				o.progress("%s: run %d/%d: %d leads, %s simulated in %s (%d moments, %d router steps)", v.name, j.k+1, len(leads), len(leads[j.k]),
					res.simulated, res.wall.Round(time.Millisecond), res.instants, res.steps)
				results[j.v][j.k] = res
			}
		}()
	}
feed:
	for i := range vs {
		for k := range leads {
			select {
			case jobs <- job{i, k}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// Simulate runs the scenario under the configured router.
func Simulate(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	leads, err := o.leads()
	if err != nil {
		return nil, err
	}
	return o.runVariant(ctx, o.variantFor(nil), leads)
}

// Comparison is the same arrivals under several router set-ups.
type Comparison struct {
	Variants []*Report `json:"variants"`
}

// Compare runs the configured router and every alternative on the same arrivals (and the
// same human behaviour wherever the situation is the same).
func Compare(ctx context.Context, o Options, alts []Alternative) (*Comparison, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	leads, err := o.leads()
	if err != nil {
		return nil, err
	}
	vs := []*variant{o.variantFor(nil)}
	for i := range alts {
		vs = append(vs, o.variantFor(&alts[i]))
	}
	reps, err := o.runAll(ctx, vs, leads)
	if err != nil {
		return nil, err
	}
	return &Comparison{Variants: reps}, nil
}

// DefaultAlternatives are what --compare default runs: the assign-once baseline, shorter and
// longer offer timeouts, and the other strategies.
func DefaultAlternatives() []Alternative {
	return []Alternative{
		{Name: "assign once, never re-offer", AssignOnce: true},
		{Name: "offer_timeout=15s", Router: RouterOverride{OfferTimeout: 15 * time.Second}},
		{Name: "offer_timeout=60s", Router: RouterOverride{OfferTimeout: 60 * time.Second}},
		{Name: "strategy=round_robin", Router: RouterOverride{Strategy: router.RoundRobin}},
		{Name: "strategy=longest_idle", Router: RouterOverride{Strategy: router.LongestIdle}},
	}
}

// ParseAlternatives reads --compare: items separated by commas or spaces; each item is
// "default" (DefaultAlternatives), "scenario" (the scenario's compare: list), "assign-once",
// or key=value settings joined by '+': offer_timeout=60s+max_offers=5, strategy=round_robin,
// first_response=5m, and for the sales tier sales.strategy, sales.accept_timeout,
// sales.first_contact, sales.max_offers. A bare value continues the previous item's key:
// sales.strategy=least_loaded,weighted is two alternatives.
func ParseAlternatives(spec string, sc *Scenario) ([]Alternative, error) {
	var out []Alternative
	last := "" // the key of the previous item's last setting
	for _, item := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' }) {
		switch item {
		case "default":
			out = append(out, DefaultAlternatives()...)
			continue
		case "scenario":
			if sc == nil || len(sc.Compare) == 0 {
				return nil, fmt.Errorf("--compare scenario: the scenario has no compare: list")
			}
			out = append(out, sc.Compare...)
			continue
		case "assign-once", "assign_once":
			out = append(out, Alternative{Name: "assign once, never re-offer", AssignOnce: true})
			continue
		}
		if !strings.Contains(item, "=") && last != "" {
			item = last + "=" + item // a bare value continues the previous item's key
		}
		alt := Alternative{Name: item}
		for _, kv := range strings.Split(item, "+") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("--compare: %q is not key=value (or default, scenario, assign-once)", kv)
			}
			last = k
			switch k {
			case "sales.strategy":
				alt.Sales.Strategy = v
			case "sales.accept_timeout", "sales.first_contact":
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("--compare: %s=%q is not a positive duration", k, v)
				}
				if k == "sales.accept_timeout" {
					alt.Sales.AcceptTimeout = d
				} else {
					alt.Sales.FirstContact = d
				}
			case "sales.max_offers":
				var n int
				if _, err := fmt.Sscan(v, &n); err != nil || n < 1 {
					return nil, fmt.Errorf("--compare: sales.max_offers=%q is not a positive number", v)
				}
				alt.Sales.MaxOffers = n
			case "strategy":
				alt.Router.Strategy = v
			case "offer_timeout", "first_response":
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("--compare: %s=%q is not a positive duration", k, v)
				}
				if k == "offer_timeout" {
					alt.Router.OfferTimeout = d
				} else {
					alt.Router.FirstResponse = d
				}
			case "max_offers":
				var n int
				if _, err := fmt.Sscan(v, &n); err != nil || n < 1 {
					return nil, fmt.Errorf("--compare: max_offers=%q is not a positive number", v)
				}
				alt.Router.MaxOffers = n
			default:
				return nil, fmt.Errorf("--compare: unknown setting %q (strategy, offer_timeout, first_response, max_offers, sales.strategy, sales.accept_timeout, sales.first_contact, sales.max_offers)", k)
			}
		}
		if err := alt.Router.validate(); err != nil {
			return nil, fmt.Errorf("--compare %s: %w", item, err)
		}
		if err := alt.Sales.validate(); err != nil {
			return nil, fmt.Errorf("--compare %s: sales: %w", item, err)
		}
		if !alt.Sales.isZero() && sc != nil && sc.Sales == nil {
			return nil, fmt.Errorf("--compare %s: the scenario has no sales: section", item)
		}
		out = append(out, alt)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--compare: nothing to compare")
	}
	return out, nil
}
