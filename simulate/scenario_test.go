package simulate

import (
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/router"
)

const okBase = `
arrivals: {rate: 10}
lead_managers:
  roster: [{id: a}]
`

func TestScenarioErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yml, want string
	}{
		{"unknown key", okBase + "colour: red\n", "field colour not found"},
		{"sales unknown key", okBase + "sales: {win_rate: 0.2}\n", "field win_rate not found"},
		{"sales win rate", okBase + "sales: {behaviour: {win_rate: 1.2}}\n", "sales.behaviour.win_rate: must be a probability"},
		{"sales lapse and reject", okBase + "sales: {behaviour: {lapse: 0.6, reject: 0.5}}\n", "sales.behaviour.reject: lapse + reject must not exceed 1"},
		{"sales reason", okBase + "sales: {behaviour: {reasons: {Not-Ours: 1}}}\n", "sales.behaviour.reasons.Not-Ours: is not a reason id"},
		{"sales amount", okBase + "sales: {behaviour: {amount: {median: 100, spread: 0.5}}}\n", "sales.behaviour.amount: needs median >= 0 and spread >= 1"},
		{"sales accept", okBase + "sales: {roster: [{id: s, behaviour: {accept: {mean: -1m}}}]}\n", "give exactly one of median"},
		{"sales strategy", okBase + "sales: {router: {strategy: random}}\n", "sales.router.strategy: must be one of round_robin, least_loaded"},
		{"sales level", okBase + "sales: {router: {handoff_levels: [tourist]}}\n", "sales.router.handoff_levels[0]: must be hot or warm"},
		{"sales roster id", okBase + "sales: {roster: [{id: Sasha}]}\n", "sales.roster[0].id: must be 1-32 characters"},
		{"sales weight", okBase + "sales: {roster: [{id: s, weight: 5000}]}\n", "sales.roster[0].weight: must be between 1 and 1000"},
		{"sales shift", okBase + "sales: {roster: [{id: s, shifts: [{from: '9', to: '18:00'}]}]}\n", "sales.roster[0].shifts[0].from: must be a time of day"},
		{"compare sales without sales", okBase + "compare: [{name: w, sales: {strategy: weighted}}]\n", "compare[0].sales: needs the scenario's sales: section"},
		{"per_hour length", "arrivals: {per_hour: [1, 2]}\nlead_managers: {roster: [{id: a}]}\n", "arrivals.per_hour: must have 24 values"},
		{"no arrivals", "lead_managers: {roster: [{id: a}]}\n", "arrivals.per_hour: is required"},
		{"channel", "arrivals: {rate: 1, channels: {fax: 1}}\nlead_managers: {roster: [{id: a}]}\n", "arrivals.channels.fax: is not a channel"},
		{"burst time", "arrivals: {rate: 1, bursts: [{at: '7pm', leads: 5}]}\nlead_managers: {roster: [{id: a}]}\n", "arrivals.bursts[0].at: must be a time of day HH:MM"},
		{"no roster", "arrivals: {rate: 1}\n", "lead_managers.roster: is required"},
		{"shift", "arrivals: {rate: 1}\nlead_managers: {roster: [{id: a, shifts: [{from: '9', to: '18:00'}]}]}\n", "lead_managers.roster[0].shifts[0].from: must be a time of day HH:MM"},
		{"break", "arrivals: {rate: 1}\nlead_managers: {roster: [{id: a, breaks: [{from: '12:00', to: '12:00'}]}]}\n", "lead_managers.roster[0].breaks[0].to: must differ from from"},
		{"duplicate ids", "arrivals: {rate: 1}\nlead_managers: {roster: [{id: a, count: 2}, {id: a-1}]}\n", `lead_managers.roster[1].id: manager id "a-1" is used twice`},
		{"bad id", "arrivals: {rate: 1}\nlead_managers: {roster: [{id: Anna}]}\n", "lead_managers.roster[0].id: must be 1-32 characters"},
		{"ignore", "arrivals: {rate: 1}\nlead_managers: {behaviour: {ignore: 1.5}, roster: [{id: a}]}\n", "lead_managers.behaviour.ignore: must be a probability"},
		{"distribution", "arrivals: {rate: 1}\nlead_managers: {behaviour: {notice: {median: 20s, mean: 1m}}, roster: [{id: a}]}\n", "give exactly one of median (with spread), mean, or fixed"},
		{"distribution key", "arrivals: {rate: 1}\nlead_managers: {behaviour: {notice: {average: 20s}}, roster: [{id: a}]}\n", `unknown key "average"`},
		{"spread", "arrivals: {rate: 1}\nlead_managers: {roster: [{id: a, behaviour: {reply: {median: 20s, spread: 0.5}}}]}\n", "lead_managers.roster[0].behaviour.reply: lognormal needs median > 0 and spread >= 1"},
		{"strategy", okBase + "router: {strategy: random}\n", "router.strategy: must be one of"},
		{"compare name", okBase + "compare: [{assign_once: true}]\n", "compare[0].name: is required"},
		{"tz", okBase + "tz: Mars/Olympus\n", `tz: unknown time zone "Mars/Olympus"`},
		{"start", okBase + "start: tomorrow\n", "start: must be a date"},
		{"replay and rate", "arrivals: {rate: 1, replay: x.csv}\nlead_managers: {roster: [{id: a}]}\n", "arrivals.replay: replaces per_hour, rate and bursts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tc.yml), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestScenarioDefaultsAndOverrides(t *testing.T) {
	sc, err := ParseScenario([]byte(`
arrivals: {rate: 10}
lead_managers:
  behaviour: {notice: {median: 30s, spread: 2}, ignore: 0.1, handling: {mean: 5m}}
  roster:
    - {id: a, count: 2}
    - {id: night, capacity: 1, behaviour: {notice: 2m, ignore: 0.5}}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	team := sc.team()
	if len(team) != 3 || team[0].m.ID != "a-1" || team[1].m.ID != "a-2" || team[2].m.ID != "night" || team[0].m.Capacity != 5 {
		t.Fatalf("team: %+v", team)
	}
	n := team[2].b
	if n.Notice != Fixed(2*time.Minute) || *n.Ignore != 0.5 || n.Handling != Exponential(5*time.Minute) || n.Reply != Lognormal(30*time.Second, 1.5) {
		t.Fatalf("night behaviour: %+v", n)
	}
	if a := team[0].b; a.Notice != Lognormal(30*time.Second, 2) || *a.Ignore != 0.1 || a.TouristHandling != Exponential(5*time.Minute) {
		t.Fatalf("team behaviour: %+v", a)
	}
	if !sc.start.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) || sc.Days != 1 || sc.Drain != 2*time.Hour {
		t.Fatalf("window: %s %d %s", sc.start, sc.Days, sc.Drain)
	}
}

func TestArrivalsFollowTheRates(t *testing.T) {
	sc, err := ParseScenario([]byte(`
tz: Europe/Moscow
start: 2026-11-28
days: 2
arrivals:
  per_hour: [0,0,0,0,0,0,0,0,0,0, 100,0, 0,0,0,0,0,0,0,0,0,0,0,0]
  weekdays: {sun: 0.5}
  bursts: [{at: "23:30", duration: 1h, leads: 50, days: [sat]}]
  channels: {telegram: 3, form: 1}
  hot_share: 0.2
  tourist_share: 0.3
lead_managers: {roster: [{id: a}]}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	const seeds = 40
	for s := uint64(0); s < seeds; s++ {
		leads, err := sc.GenerateLeads(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leads {
			lt := l.At.In(sc.loc)
			counts[lt.Weekday().String()[:3]+lt.Format(" 15")]++
			counts[l.Channel]++
			if l.Hot {
				counts["hot"]++
			}
			if l.Tourist {
				counts["tourist"]++
			}
			counts["all"]++
		}
	}
	for k, v := range counts {
		counts[k] = v / seeds
	}
	near := func(name string, got, want, tol float64) {
		if got < want-tol || got > want+tol {
			t.Errorf("%s: %.1f a run, want %.1f ± %.1f", name, got, want, tol)
		}
	}
	// Saturday 28 Nov: 100 at 10:00, the burst 23:30-00:30 (25 on Saturday, 25 after midnight);
	// Sunday: 50 at 10:00.
	near("Sat 10:00", counts["Sat 10"], 100, 5)
	near("Sat 23:00", counts["Sat 23"], 25, 3)
	near("Sun 00:00", counts["Sun 00"], 25, 3)
	near("Sun 10:00", counts["Sun 10"], 50, 4)
	all := counts["all"]
	near("telegram share", counts["telegram"]/all, 0.75, 0.03)
	near("hot share", counts["hot"]/all, 0.2, 0.03)
	near("tourist share", counts["tourist"]/all, 0.3, 0.03)
}

func TestParseAlternativesAndTarget(t *testing.T) {
	alts, err := ParseAlternatives("assign-once, offer_timeout=15s+max_offers=5,strategy=round_robin", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(alts) != 3 || !alts[0].AssignOnce || alts[1].Router.OfferTimeout != 15*time.Second || alts[1].Router.MaxOffers != 5 || alts[2].Router.Strategy != "round_robin" {
		t.Fatalf("%+v", alts)
	}
	for _, bad := range []string{"offer_timeout=soon", "colour=red", "strategy=random", "", "scenario", "sales.strategy=random", "sales.accept_timeout=0s"} {
		if _, err := ParseAlternatives(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	tg, err := ParseTarget("p95<60s")
	if err != nil || tg.Percentile != 0.95 || tg.Limit != time.Minute {
		t.Fatalf("%+v %v", tg, err)
	}
	for _, bad := range []string{"95<60s", "p95>60s", "p100<1m", "p95<soon"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestScenarioSalesSection(t *testing.T) {
	sc, err := ParseScenario([]byte(okBase+`
sales:
  behaviour: {accept: {median: 2m, spread: 2}, lapse: 0.1, reject: 0.05, reasons: {not_a_real_lead: 2, duplicate: 1}, win_rate: 0.25, amount: 30000}
  router: {strategy: weighted, handoff_levels: [hot, warm]}
  roster:
    - {id: sasha, count: 2, capacity: 3, weight: 2}
    - {id: oleg, behaviour: {win_rate: 0.5, amount: {median: 80000, spread: 1.5}}}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Scenario: sc}
	if err := o.checkSales(); err != nil {
		t.Fatal(err)
	}
	v := o.salesVariantFor(nil)
	if v.cfg.Strategy != "weighted" || !v.handsOff("warm") || len(v.team) != 3 {
		t.Fatalf("sales variant: %+v", v)
	}
	s1, oleg := v.team[0], v.team[2]
	if s1.m.ID != "sasha-1" || s1.m.Weight != 2 || s1.m.Capacity != 3 || *s1.b.WinRate != 0.25 || s1.b.Amount != (Amount{Median: 30000, Spread: 1}) ||
		s1.b.Contact != Lognormal(10*time.Minute, 2) {
		t.Fatalf("sasha-1: %+v", s1)
	}
	if oleg.m.Capacity != 5 || *oleg.b.WinRate != 0.5 || oleg.b.Amount.Median != 80000 || *oleg.b.Lapse != 0.1 || len(oleg.reasons) != 2 {
		t.Fatalf("oleg: %+v", oleg)
	}
	// a reason the config does not know; no roster and no sales managers in the config
	bad := *sc
	bad.Sales = &SalesTier{Behaviour: SalesBehaviour{Reasons: map[string]float64{"too_far": 1}}, Roster: sc.Sales.Roster}
	if err := (&Options{Scenario: &bad}).checkSales(); err == nil || !strings.Contains(err.Error(), "sales.behaviour.reasons.too_far: is not one of the config's sales.rejection_reasons") {
		t.Errorf("unknown reason: %v", err)
	}
	bad.Sales = &SalesTier{}
	if err := (&Options{Scenario: &bad}).checkSales(); err == nil || !strings.Contains(err.Error(), "sales.roster: is empty") {
		t.Errorf("no roster: %v", err)
	}
	// the roster from the config's sales managers
	o = Options{Scenario: &bad, Managers: []router.Manager{{ID: "a", Role: router.RoleLead}, {ID: "vera", Role: router.RoleSales, Weight: 3}}}
	if err := o.checkSales(); err != nil {
		t.Fatal(err)
	}
	if team := o.salesTeam(o.salesConfig(nil)); len(team) != 1 || team[0].m.ID != "vera" || team[0].m.Weight != 3 || team[0].m.Capacity != 5 {
		t.Fatalf("config roster: %+v", team)
	}
}
