package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Lead is one simulated arrival: the first message of a new conversation.
type Lead struct {
	At      time.Time `json:"at"`
	Channel string    `json:"channel"`
	Hot     bool      `json:"hot,omitempty"`
	Tourist bool      `json:"tourist,omitempty"`
}

// window is the simulated span: leads arrive in [start, end); the run goes on to stop.
type window struct {
	start, end, stop, counted time.Time // counted: leads before it are warm-up
}

func (sc *Scenario) window() window {
	end := sc.start.Add(time.Duration(sc.Days) * 24 * time.Hour)
	return window{start: sc.start, end: end, stop: end.Add(sc.Drain), counted: sc.start.Add(sc.Warmup)}
}

// GenerateLeads returns the arrivals of the scenario for seed: a replay of the CSV file, or a
// non-homogeneous Poisson process (thinning) with the hourly rates, weekday factors and bursts.
// A replay may set the start and the number of days.
func (sc *Scenario) GenerateLeads(seed uint64) ([]Lead, error) {
	if sc.Arrivals.Replay != "" {
		return sc.replay()
	}
	w := sc.window()
	// The largest rate over the window, scanned minute by minute (rates change on minutes).
	max := 0.0
	for t := w.start; t.Before(w.end); t = t.Add(time.Minute) {
		max = math.Max(max, sc.rate(t))
	}
	if max == 0 {
		return nil, nil
	}
	r := stream(seed, "arrivals")
	var leads []Lead
	t := w.start
	for {
		gap := time.Duration(r.ExpFloat64() / max * float64(time.Hour))
		t = t.Add(gap)
		if !t.Before(w.end) {
			break
		}
		if r.Float64()*max > sc.rate(t) {
			continue
		}
		at := t.Truncate(time.Millisecond)
		leads = append(leads, sc.describe(seed, len(leads), at))
	}
	return leads, nil
}

// describe draws a lead's channel and kind from its own stream.
func (sc *Scenario) describe(seed uint64, i int, at time.Time) Lead {
	r := stream(seed, "lead", i)
	a := &sc.Arrivals
	l := Lead{At: at}
	names := sortedKeys(a.Channels)
	total := 0.0
	for _, n := range names {
		total += a.Channels[n]
	}
	u := r.Float64() * total
	for _, n := range names {
		l.Channel = n
		if u < a.Channels[n] {
			break
		}
		u -= a.Channels[n]
	}
	l.Hot = r.Float64() < a.HotShare
	l.Tourist = !l.Hot && r.Float64() < a.TouristShare/math.Max(1e-9, 1-a.HotShare)
	return l
}

// rate is the expected leads per hour at t.
func (sc *Scenario) rate(t time.Time) float64 {
	a := &sc.Arrivals
	lt := t.In(sc.loc)
	base := a.Rate
	if len(a.PerHour) == 24 {
		base = a.PerHour[lt.Hour()]
	}
	if f, ok := a.weekdayFactor(lt.Weekday()); ok {
		base *= f
	}
	min := lt.Hour()*60 + lt.Minute()
	for _, b := range a.Bursts {
		dur := int(b.Duration / time.Minute)
		// a burst may run past midnight: it belongs to the day it started
		if min >= b.from && min < b.from+dur && b.days[lt.Weekday()] {
			base += b.Leads / b.Duration.Hours()
		} else if b.from+dur > 24*60 && min < b.from+dur-24*60 && b.days[(lt.Weekday()+6)%7] {
			base += b.Leads / b.Duration.Hours()
		}
	}
	return base
}

func (a *Arrivals) weekdayFactor(d time.Weekday) (float64, bool) {
	for k, v := range a.Weekdays {
		if wd, ok := weekdayIndex(k); ok && wd == d {
			return v, true
		}
	}
	return 1, false
}

// replay reads the CSV: a header line naming at, channel and optionally hot, tourist; at is
// RFC 3339 or "2006-01-02 15:04:05" in the scenario's tz.
func (sc *Scenario) replay() ([]Lead, error) {
	path := sc.Arrivals.Replay
	if !filepath.IsAbs(path) {
		path = filepath.Join(sc.dir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("arrivals.replay: %w", err)
	}
	defer f.Close()
	leads, err := readReplay(f, sc.loc)
	if err != nil {
		return nil, fmt.Errorf("arrivals.replay %s: %w", sc.Arrivals.Replay, err)
	}
	if len(leads) == 0 {
		return nil, fmt.Errorf("arrivals.replay %s: no arrivals", sc.Arrivals.Replay)
	}
	if sc.start.IsZero() {
		ft := leads[0].At.In(sc.loc)
		sc.start = time.Date(ft.Year(), ft.Month(), ft.Day(), 0, 0, 0, 0, sc.loc)
	}
	if sc.Days == 0 {
		last := leads[len(leads)-1].At
		sc.Days = int(last.Sub(sc.start)/(24*time.Hour)) + 1
	}
	w := sc.window()
	var in []Lead
	for _, l := range leads {
		if !l.At.Before(w.start) && l.At.Before(w.end) {
			in = append(in, l)
		}
	}
	return in, nil
}

func readReplay(r io.Reader, loc *time.Location) ([]Lead, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["at"]; !ok {
		return nil, errors.New(`the header must name an "at" column (and optionally channel, hot, tourist)`)
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var leads []Lead
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		at, err := parseAt(get(rec, "at"), loc)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		l := Lead{At: at.Truncate(time.Millisecond), Channel: get(rec, "channel")}
		if l.Channel == "" {
			l.Channel = "telegram"
		}
		if !knownChannel(l.Channel) {
			return nil, fmt.Errorf("line %d: unknown channel %q", line, l.Channel)
		}
		for name, dst := range map[string]*bool{"hot": &l.Hot, "tourist": &l.Tourist} {
			if v := get(rec, name); v != "" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, fmt.Errorf("line %d: %s must be true or false (got %q)", line, name, v)
				}
				*dst = b
			}
		}
		leads = append(leads, l)
	}
	sort.SliceStable(leads, func(i, j int) bool { return leads[i].At.Before(leads[j].At) })
	return leads, nil
}

func parseAt(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("at %q is not an RFC 3339 time or 2006-01-02 15:04:05", v)
}
