package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/router"
)

// Scenario is a scenario file: the traffic, the lead-managers and how they behave, and the
// router settings to try. See examples/simulate/scenario.yaml.
type Scenario struct {
	Name string `yaml:"name"`
	// Start: the first simulated day, "2026-11-30" (midnight in tz) or an RFC 3339 time.
	// Default: the Monday 2026-11-30; with replay, midnight before the first arrival.
	Start string `yaml:"start"`
	// TimeZone (IANA) of the hours of day used by arrivals, breaks and the report. Default UTC.
	TimeZone string `yaml:"tz"`
	// Days simulated (default 1).
	Days int `yaml:"days"`
	// Warmup: leads arriving this long after the start are simulated but not counted.
	Warmup time.Duration `yaml:"warmup"`
	// Drain: after the last arrival the simulation runs this much longer so late leads can be
	// answered (default 2h); leads still unanswered then count as censored (never answered).
	Drain    time.Duration  `yaml:"drain"`
	Arrivals Arrivals       `yaml:"arrivals"`
	Leads    Team           `yaml:"lead_managers"`
	Router   RouterOverride `yaml:"router"`
	// Compare: alternatives run on the same arrivals by --compare scenario.
	Compare []Alternative `yaml:"compare"`
	// Sales: the second tier (sales managers); nil: only the first tier is simulated.
	Sales *SalesTier `yaml:"sales"`

	dir   string // of the scenario file, for the replay path
	loc   *time.Location
	start time.Time
}

// Arrivals describes when leads come and what they are.
type Arrivals struct {
	// PerHour: expected leads in each hour of the day (24 values, hour 0 first) on a day with
	// factor 1. Arrivals are a non-homogeneous Poisson process with this rate.
	PerHour []float64 `yaml:"per_hour"`
	// Rate: a constant number of leads per hour instead of per_hour.
	Rate float64 `yaml:"rate"`
	// Weekdays: multipliers per day of week (mon..sun), default 1.
	Weekdays map[string]float64 `yaml:"weekdays"`
	// Bursts: extra leads in a window (an ad campaign at 19:00).
	Bursts []Burst `yaml:"bursts"`
	// Channels: share of each channel (default all telegram). Form leads are answered by a
	// call (marked contacted), the others by a reply.
	Channels map[string]float64 `yaml:"channels"`
	// HotShare of leads are hot: they get priority hot_priority (default 5) and jump the queue.
	HotShare    float64 `yaml:"hot_share"`
	HotPriority int     `yaml:"hot_priority"`
	// TouristShare of leads are tourists: handled with tourist_handling and closed politely.
	TouristShare float64 `yaml:"tourist_share"`
	// Replay: a CSV file of real arrivals (at,channel[,hot][,tourist]) used instead of the
	// random process. Relative to the scenario file.
	Replay string `yaml:"replay"`
}

// Burst is extra traffic in a daily window.
type Burst struct {
	At       string        `yaml:"at"`       // "19:00" in the scenario's tz
	Duration time.Duration `yaml:"duration"` // default 1h
	Leads    float64       `yaml:"leads"`    // expected extra leads over the window
	Days     []string      `yaml:"days"`     // mon..sun; empty: every day

	from int // minutes after midnight
	days [7]bool
}

// Team is the first tier: lead-managers.
type Team struct {
	// Behaviour of every lead-manager, unless an entry of the roster overrides it.
	Behaviour Behaviour `yaml:"behaviour"`
	Roster    []Member  `yaml:"roster"`
	// Staffing: the generic lead-manager --staff-for adds hour by hour.
	Staffing Staffing `yaml:"staffing"`
}

// Member is one roster entry: a manager, or count identical ones (id-1, id-2, ...).
type Member struct {
	ID       string         `yaml:"id"`
	Count    int            `yaml:"count"`    // default 1
	Capacity int            `yaml:"capacity"` // default 5, as in managers:
	Shifts   []router.Shift `yaml:"shifts"`   // as in managers: (none: always)
	// Breaks: daily windows inside shifts when the manager is offline (lunch).
	Breaks    []router.Shift `yaml:"breaks"`
	Behaviour Behaviour      `yaml:"behaviour"` // fields set here override the team's
}

// Behaviour is how a lead-manager reacts.
type Behaviour struct {
	// Notice: from an offer to the manager opening it and accepting.
	Notice Dist `yaml:"notice"`
	// Ignore: probability that an offer goes unnoticed (phone in the pocket).
	Ignore *float64 `yaml:"ignore"`
	// Recheck: an ignored offer is noticed after this (if it is still theirs); unset: never.
	Recheck Dist `yaml:"recheck"`
	// Reply: from accepting to the first reply (or call).
	Reply Dist `yaml:"reply"`
	// Handling: from the first reply to closing the conversation.
	Handling Dist `yaml:"handling"`
	// TouristHandling: the same for tourists (default: handling).
	TouristHandling Dist `yaml:"tourist_handling"`
}

// Staffing is the generic lead-manager of --staff-for.
type Staffing struct {
	Capacity   int `yaml:"capacity"`     // default 1
	MaxPerHour int `yaml:"max_per_hour"` // give up above this (default 30)
}

// RouterOverride changes router settings of the config for the simulation.
type RouterOverride struct {
	Strategy      string        `yaml:"strategy"`
	OfferTimeout  time.Duration `yaml:"offer_timeout"`
	FirstResponse time.Duration `yaml:"first_response"`
	MaxOffers     int           `yaml:"max_offers"`
}

// Alternative is one column of a comparison.
type Alternative struct {
	Name   string         `yaml:"name"`
	Router RouterOverride `yaml:"router"`
	// Sales overrides the sales: settings for this alternative (sales.strategy etc.).
	Sales SalesOverride `yaml:"sales"`
	// AssignOnce models Chatwoot-style assignment: an offer never lapses and nothing is
	// re-offered or taken back (offer_timeout and first_response longer than the simulation,
	// max_offers 1).
	AssignOnce bool `yaml:"assign_once"`
}

// LoadScenario reads and checks a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc, err := ParseScenario(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario parses a scenario; dir resolves a relative replay path.
func ParseScenario(data []byte, dir string) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	sc.dir = dir
	sc.Defaults()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// Defaults fills unset fields.
func (sc *Scenario) Defaults() {
	if sc.Name == "" {
		sc.Name = "scenario"
	}
	if sc.TimeZone == "" {
		sc.TimeZone = "UTC"
	}
	if sc.Days == 0 && sc.Arrivals.Replay == "" {
		sc.Days = 1 // a replay covers its arrivals' days
	}
	if sc.Drain == 0 {
		sc.Drain = 2 * time.Hour
	}
	a := &sc.Arrivals
	if len(a.Channels) == 0 {
		a.Channels = map[string]float64{channels.Telegram: 1}
	}
	if a.HotPriority == 0 {
		a.HotPriority = 5
	}
	for i := range a.Bursts {
		if a.Bursts[i].Duration == 0 {
			a.Bursts[i].Duration = time.Hour
		}
	}
	b := &sc.Leads.Behaviour
	if !b.Notice.IsSet() {
		b.Notice = Lognormal(20*time.Second, 2)
	}
	if b.Ignore == nil {
		z := 0.0
		b.Ignore = &z
	}
	if !b.Reply.IsSet() {
		b.Reply = Lognormal(30*time.Second, 1.5)
	}
	if !b.Handling.IsSet() {
		b.Handling = Exponential(8 * time.Minute)
	}
	if !b.TouristHandling.IsSet() {
		b.TouristHandling = b.Handling
	}
	for i := range sc.Leads.Roster {
		m := &sc.Leads.Roster[i]
		if m.Count == 0 {
			m.Count = 1
		}
		if m.Capacity == 0 {
			m.Capacity = 5
		}
	}
	if sc.Leads.Staffing.Capacity == 0 {
		sc.Leads.Staffing.Capacity = 1
	}
	if sc.Leads.Staffing.MaxPerHour == 0 {
		sc.Leads.Staffing.MaxPerHour = 30
	}
	if sc.Sales != nil {
		sc.Sales.defaults()
	}
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func weekdayIndex(s string) (time.Weekday, bool) {
	for i, n := range weekdayNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// Validate checks the scenario; errors name the YAML path.
func (sc *Scenario) Validate() error {
	var errs conf.Errors
	var err error
	if sc.loc, err = time.LoadLocation(sc.TimeZone); err != nil {
		errs.Add("tz", "unknown time zone %q", sc.TimeZone)
		sc.loc = time.UTC
	}
	if sc.Start != "" {
		if t, err := time.ParseInLocation("2006-01-02", sc.Start, sc.loc); err == nil {
			sc.start = t
		} else if t, err := time.Parse(time.RFC3339, sc.Start); err == nil {
			sc.start = t
		} else {
			errs.Add("start", "must be a date 2006-01-02 or an RFC 3339 time (got %q)", sc.Start)
		}
	} else if sc.Arrivals.Replay == "" {
		sc.start = time.Date(2026, 11, 30, 0, 0, 0, 0, sc.loc)
	}
	if (sc.Days < 1 && sc.Arrivals.Replay == "") || sc.Days < 0 || sc.Days > 31 {
		errs.Add("days", "must be between 1 and 31")
	}
	if sc.Warmup < 0 || (sc.Days > 0 && sc.Warmup >= time.Duration(sc.Days)*24*time.Hour) {
		errs.Add("warmup", "must be shorter than the simulated days")
	}
	if sc.Drain < 0 {
		errs.Add("drain", "must not be negative")
	}
	if sc.Sales != nil {
		errs.Merge("sales", sc.Sales.validate())
	}
	errs.Merge("arrivals", sc.Arrivals.validate())
	errs.Merge("lead_managers", sc.Leads.validate())
	errs.Merge("router", sc.Router.validate())
	for i := range sc.Compare {
		p := fmt.Sprintf("compare[%d]", i)
		if sc.Compare[i].Name == "" {
			errs.Add(p+".name", "is required")
		}
		errs.Merge(p+".router", sc.Compare[i].Router.validate())
		errs.Merge(p+".sales", sc.Compare[i].Sales.validate())
		if sc.Sales == nil && !sc.Compare[i].Sales.isZero() {
			errs.Add(p+".sales", "needs the scenario's sales: section")
		}
	}
	return errs.Err()
}

func (a *Arrivals) validate() error {
	var errs conf.Errors
	switch {
	case a.Replay != "":
		if len(a.PerHour) > 0 || a.Rate > 0 || len(a.Bursts) > 0 {
			errs.Add("replay", "replaces per_hour, rate and bursts: give one or the other")
		}
	case len(a.PerHour) > 0 && a.Rate > 0:
		errs.Add("rate", "give per_hour or rate, not both")
	case len(a.PerHour) == 0 && a.Rate <= 0:
		errs.Add("per_hour", "is required (24 leads-per-hour values), or rate, or replay")
	case len(a.PerHour) > 0 && len(a.PerHour) != 24:
		errs.Add("per_hour", "must have 24 values, one per hour of the day (got %d)", len(a.PerHour))
	}
	for i, v := range a.PerHour {
		if v < 0 {
			errs.Add(fmt.Sprintf("per_hour[%d]", i), "must not be negative")
		}
	}
	for d, f := range a.Weekdays {
		if _, ok := weekdayIndex(d); !ok {
			errs.Add("weekdays."+d, "is not one of mon, tue, wed, thu, fri, sat, sun")
		}
		if f < 0 {
			errs.Add("weekdays."+d, "must not be negative")
		}
	}
	for i := range a.Bursts {
		b := &a.Bursts[i]
		p := fmt.Sprintf("bursts[%d]", i)
		if m, err := clockMinutes(b.At); err != nil {
			errs.Add(p+".at", "%v", err)
		} else {
			b.from = m
		}
		if b.Duration <= 0 || b.Duration > 24*time.Hour {
			errs.Add(p+".duration", "must be between 1s and 24h")
		}
		if b.Leads <= 0 {
			errs.Add(p+".leads", "must be positive")
		}
		b.days = [7]bool{}
		if len(b.Days) == 0 {
			b.days = [7]bool{true, true, true, true, true, true, true}
		}
		for j, d := range b.Days {
			wd, ok := weekdayIndex(d)
			if !ok {
				errs.Add(fmt.Sprintf("%s.days[%d]", p, j), "must be one of mon, tue, wed, thu, fri, sat, sun")
			}
			b.days[wd] = true
		}
	}
	sum := 0.0
	for _, ch := range sortedKeys(a.Channels) {
		v := a.Channels[ch]
		if !knownChannel(ch) {
			errs.Add("channels."+ch, "is not a channel (%s)", strings.Join(simChannels, ", "))
		}
		if v < 0 {
			errs.Add("channels."+ch, "must not be negative")
		}
		sum += v
	}
	if sum <= 0 {
		errs.Add("channels", "shares must add up to more than 0")
	}
	if a.HotShare < 0 || a.HotShare > 1 {
		errs.Add("hot_share", "must be between 0 and 1")
	}
	if a.TouristShare < 0 || a.TouristShare > 1 {
		errs.Add("tourist_share", "must be between 0 and 1")
	}
	if a.HotPriority < 0 || a.HotPriority > 9 {
		errs.Add("hot_priority", "must be between 0 and 9")
	}
	return errs.Err()
}

var simChannels = []string{channels.Telegram, channels.Instagram, channels.WhatsApp, channels.WhatsAppCloud, channels.Form}

func knownChannel(ch string) bool {
	for _, c := range simChannels {
		if c == ch {
			return true
		}
	}
	return false
}

func clockMinutes(v string) (int, error) {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, fmt.Errorf("must be a time of day HH:MM (got %q)", v)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// validateMember checks one roster entry of either tier under path p: its count, that none
// of its ids is in ids already (then adds them), and its shifts and breaks with the router's
// own rules for a manager like mgr (errors under p.shifts[…] and p.breaks[…]).
func validateMember(errs *conf.Errors, p string, ids map[string]bool, mem Member, mgr router.Manager, shifts, breaks []router.Shift) {
	if mem.Count < 1 || mem.Count > 500 {
		errs.Add(p+".count", "must be between 1 and 500")
	}
	for _, id := range mem.ids() {
		if ids[id] {
			errs.Add(p+".id", "manager id %q is used twice", id)
		}
		ids[id] = true
	}
	check := func(what string, shifts []router.Shift) {
		mgr.ID, mgr.Shifts = mem.ids()[0], shifts
		for _, e := range conf.Flatten(router.ValidateManagers([]router.Manager{mgr})) {
			var fe *conf.FieldError
			if !errors.As(e, &fe) {
				errs.Add(p, "%v", e)
				continue
			}
			path := strings.TrimPrefix(fe.Path, "[0].")
			if what == "breaks" {
				if !strings.HasPrefix(path, "shifts") {
					continue
				}
				path = "breaks" + strings.TrimPrefix(path, "shifts")
			}
			errs.Add(p+"."+path, "%s", fe.Msg)
		}
	}
	// copies: compiling caches the time zone inside the shift
	check("shifts", append([]router.Shift(nil), shifts...))
	check("breaks", append([]router.Shift(nil), breaks...))
}

func (t *Team) validate() error {
	var errs conf.Errors
	errs.Merge("behaviour", t.Behaviour.validate())
	if len(t.Roster) == 0 {
		errs.Add("roster", "is required (at least one lead-manager)")
	}
	ids := map[string]bool{}
	for i := range t.Roster {
		m := &t.Roster[i]
		p := fmt.Sprintf("roster[%d]", i)
		validateMember(&errs, p, ids, Member{ID: m.ID, Count: m.Count},
			router.Manager{Role: router.RoleLead, Capacity: m.Capacity, Weight: 1}, m.Shifts, m.Breaks)
		errs.Merge(p+".behaviour", m.Behaviour.validate())
	}
	if t.Staffing.Capacity < 1 || t.Staffing.Capacity > 1000 {
		errs.Add("staffing.capacity", "must be between 1 and 1000")
	}
	if t.Staffing.MaxPerHour < 1 || t.Staffing.MaxPerHour > 500 {
		errs.Add("staffing.max_per_hour", "must be between 1 and 500")
	}
	return errs.Err()
}

func (b *Behaviour) validate() error {
	var errs conf.Errors
	for name, d := range map[string]Dist{"notice": b.Notice, "recheck": b.Recheck, "reply": b.Reply,
		"handling": b.Handling, "tourist_handling": b.TouristHandling} {
		if err := d.validate(); err != nil {
			errs.Add(name, "%v", err)
		}
	}
	if b.Ignore != nil && (*b.Ignore < 0 || *b.Ignore >= 1) {
		errs.Add("ignore", "must be a probability in [0, 1)")
	}
	return errs.Err()
}

// merge returns b with the fields set in o replaced.
func (b Behaviour) merge(o Behaviour) Behaviour {
	if o.Notice.IsSet() {
		b.Notice = o.Notice
	}
	if o.Ignore != nil {
		b.Ignore = o.Ignore
	}
	if o.Recheck.IsSet() {
		b.Recheck = o.Recheck
	}
	if o.Reply.IsSet() {
		b.Reply = o.Reply
	}
	if o.Handling.IsSet() {
		b.Handling = o.Handling
		if !o.TouristHandling.IsSet() {
			b.TouristHandling = o.Handling
		}
	}
	if o.TouristHandling.IsSet() {
		b.TouristHandling = o.TouristHandling
	}
	return b
}

func (m *Member) ids() []string {
	if m.Count <= 1 {
		return []string{m.ID}
	}
	out := make([]string, m.Count)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", m.ID, i+1)
	}
	return out
}

// managers expands the roster to router managers; shifts without a tz get loc's name.
func (t *Team) managers(loc *time.Location) []router.Manager {
	var out []router.Manager
	for _, m := range t.Roster {
		for _, id := range m.ids() {
			shifts := append([]router.Shift(nil), m.Shifts...)
			for i := range shifts {
				if shifts[i].TimeZone == "" {
					shifts[i].TimeZone = loc.String()
				}
			}
			out = append(out, router.Manager{ID: id, Role: router.RoleLead, Capacity: m.Capacity, Weight: 1, Shifts: shifts})
		}
	}
	return out
}

func (o RouterOverride) validate() error {
	var errs conf.Errors
	switch o.Strategy {
	case "", router.LeastBusy, router.RoundRobin, router.LongestIdle:
	default:
		errs.Add("strategy", "must be one of least_busy, round_robin, longest_idle (got %q)", o.Strategy)
	}
	if o.OfferTimeout < 0 {
		errs.Add("offer_timeout", "must be positive")
	}
	if o.FirstResponse < 0 {
		errs.Add("first_response", "must be positive")
	}
	if o.MaxOffers < 0 {
		errs.Add("max_offers", "must be at least 1")
	}
	return errs.Err()
}

// apply returns c with the override's set fields.
func (o RouterOverride) apply(c router.Config) router.Config {
	if o.Strategy != "" {
		c.Strategy = o.Strategy
	}
	if o.OfferTimeout > 0 {
		c.OfferTimeout = o.OfferTimeout
	}
	if o.FirstResponse > 0 {
		c.FirstResponse = o.FirstResponse
	}
	if o.MaxOffers > 0 {
		c.MaxOffers = o.MaxOffers
	}
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
