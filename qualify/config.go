package qualify

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// Config is the qualify: section.
type Config struct {
	DefaultPriority int `yaml:"default_priority"`
	// TimeZone is the IANA zone the time conditions of the rules are read in (default UTC).
	TimeZone string `yaml:"tz"`
	Rules    []Rule `yaml:"rules"`
}

// Rule sets the priority and tags of a conversation (or marks it as not a lead) when its
// conditions hold and its text matches.
//
// Text: a rule with keywords, words or regex matches when any one of them is found in the
// message; a rule with none of them matches on its conditions alone. Conditions: every one
// that is set must hold (channels, sources, utm, time, has_phone, has_email, messages); within
// one condition any listed value will do.
type Rule struct {
	Name string `yaml:"name"`

	// Keywords are case-insensitive substrings ("цена" also matches "оценка").
	Keywords []string `yaml:"keywords"`
	// Words match word forms: each is a word or a phrase, compared by Snowball stems in
	// Russian and English, so "стоимость" matches "стоимости" and "price" matches "prices".
	// A phrase's words must come in order with at most two other words between them. A
	// word ending in * matches every word that begins with it ("доставк*").
	Words []string `yaml:"words"`
	// Regex is a case-insensitive regular expression (RE2 syntax).
	Regex string `yaml:"regex"`

	Channels []string `yaml:"channels"` // channel names; empty: every channel
	Sources  []string `yaml:"sources"`  // patterns for the source (deep-link payload, campaign...); * matches anything
	UTM      UTM      `yaml:"utm"`      // patterns for the utm_* parameters
	Time     []Window `yaml:"time"`     // any of these weekly windows, in qualify.tz
	HasPhone *bool    `yaml:"has_phone"`
	HasEmail *bool    `yaml:"has_email"`
	Messages Range    `yaml:"messages"` // the number of customer messages in the conversation so far

	Priority *int     `yaml:"priority"` // the highest matching priority wins
	Tags     []string `yaml:"tags"`
	// NotALead closes the conversation at once without offering it (spam, job seekers,
	// suppliers): it is stored for the record, never offered, no automatic reply is sent.
	NotALead bool `yaml:"not_a_lead"`
	// Spam is the older name of NotALead; both have the same effect.
	Spam bool `yaml:"spam"`

	re       *regexp.Regexp
	keywords []string // lower case
	words    []phrase
	windows  []window
	loc      *time.Location
}

// UTM holds patterns for the UTM parameters the channels put in the message's meta
// (utm_source, utm_medium, ...). Each set list is a condition: one of its patterns must match.
type UTM struct {
	Source   []string `yaml:"source"`
	Medium   []string `yaml:"medium"`
	Campaign []string `yaml:"campaign"`
	Term     []string `yaml:"term"`
	Content  []string `yaml:"content"`
}

// utmParam is one UTM condition: the meta key it reads and its patterns.
type utmParam struct {
	key, yamlKey string
	patterns     []string
}

// list returns the UTM parameters with their patterns, set or not, in a fixed order.
func (u *UTM) list() []utmParam {
	return []utmParam{{"utm_source", "source", u.Source}, {"utm_medium", "medium", u.Medium},
		{"utm_campaign", "campaign", u.Campaign}, {"utm_term", "term", u.Term}, {"utm_content", "content", u.Content}}
}

func (u *UTM) set() bool {
	for _, p := range u.list() {
		if len(p.patterns) > 0 {
			return true
		}
	}
	return false
}

// Window is a weekly time window: Days (mon..sun, empty: every day) between From and To
// ("HH:MM"; To earlier than From spans midnight; both empty: the whole day).
type Window struct {
	Days []string `yaml:"days"`
	From string   `yaml:"from"`
	To   string   `yaml:"to"`
}

// Range bounds a count; zero means no bound.
type Range struct {
	Min int `yaml:"min"`
	Max int `yaml:"max"`
}

func (r Range) set() bool { return r.Min != 0 || r.Max != 0 }

// String reads "2..5", "2+" or "..1".
func (r Range) String() string {
	switch {
	case r.Max == 0:
		return strconv.Itoa(r.Min) + "+"
	case r.Min == 0:
		return ".." + strconv.Itoa(r.Max)
	}
	return strconv.Itoa(r.Min) + ".." + strconv.Itoa(r.Max)
}

// Defaults fills unset fields. Nothing to fill: the default priority is 0 and rules raise
// it; the time zone defaults to UTC in Validate.
func (c *Config) Defaults() {}

// Validate checks the rules and compiles their words, regular expressions and time
// windows; error paths are relative to "qualify".
func (c *Config) Validate() error {
	var errs conf.Errors
	if c.DefaultPriority < 0 || c.DefaultPriority > 9 {
		errs.Add("default_priority", "must be between 0 and 9")
	}
	loc, err := loadZone(c.TimeZone)
	if err != nil {
		errs.Add("tz", "unknown time zone %q", c.TimeZone)
	}
	names := map[string]int{}
	for i := range c.Rules {
		r := &c.Rules[i]
		p := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			errs.Add(p+".name", "is required")
		} else if j, dup := names[r.Name]; dup {
			errs.Add(p+".name", "duplicates rules[%d].name %q", j, r.Name)
		} else {
			names[r.Name] = i
		}
		if !r.hasText() && !r.hasConditions() {
			errs.Add(p, "needs keywords, words, regex or a condition (channels, sources, utm, time, has_phone, has_email, messages)")
		}
		r.compile(p, loc, &errs)
	}
	return errs.Err()
}

func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

func (r *Rule) hasText() bool { return len(r.Keywords) > 0 || len(r.Words) > 0 || r.Regex != "" }

func (r *Rule) hasConditions() bool {
	return len(r.Channels) > 0 || len(r.Sources) > 0 || r.UTM.set() || len(r.Time) > 0 ||
		r.HasPhone != nil || r.HasEmail != nil || r.Messages.set()
}

// notALead reports whether the rule closes the conversation.
func (r *Rule) notALead() bool { return r.NotALead || r.Spam }

func (r *Rule) compile(p string, loc *time.Location, errs *conf.Errors) {
	r.loc = loc
	r.re = nil
	if r.Regex != "" {
		re, err := regexp.Compile("(?i)" + r.Regex)
		if err != nil {
			errs.Add(p+".regex", "invalid regular expression: %v", err)
		}
		r.re = re
	}
	if r.Priority != nil && (*r.Priority < 0 || *r.Priority > 9) {
		errs.Add(p+".priority", "must be between 0 and 9")
	}
	r.keywords = nil
	for j, k := range r.Keywords {
		if strings.TrimSpace(k) == "" {
			errs.Add(fmt.Sprintf("%s.keywords[%d]", p, j), "must not be empty")
		}
		r.keywords = append(r.keywords, strings.ToLower(k))
	}
	r.words = nil
	for j, w := range r.Words {
		ph, err := parsePhrase(w)
		if err != nil {
			errs.Add(fmt.Sprintf("%s.words[%d]", p, j), "%v", err)
			continue
		}
		r.words = append(r.words, ph)
	}
	for j, s := range r.Sources {
		if strings.TrimSpace(s) == "" {
			errs.Add(fmt.Sprintf("%s.sources[%d]", p, j), "must not be empty")
		}
	}
	for _, u := range r.UTM.list() {
		for j, s := range u.patterns {
			if strings.TrimSpace(s) == "" {
				errs.Add(fmt.Sprintf("%s.utm.%s[%d]", p, u.yamlKey, j), "must not be empty")
			}
		}
	}
	r.windows = nil
	for j := range r.Time {
		w, err := r.Time[j].compile()
		if err != nil {
			errs.Merge(fmt.Sprintf("%s.time[%d]", p, j), err)
			continue
		}
		r.windows = append(r.windows, w)
	}
	if r.Messages.Min < 0 {
		errs.Add(p+".messages.min", "must not be negative")
	}
	if r.Messages.Max < 0 {
		errs.Add(p+".messages.max", "must not be negative")
	}
	if r.Messages.Max > 0 && r.Messages.Max < r.Messages.Min {
		errs.Add(p+".messages.max", "must not be less than messages.min")
	}
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// window is a compiled Window.
type window struct {
	days     [7]bool
	from, to int // minutes after midnight; from == to: the whole day
	text     string
}

func (w *Window) compile() (window, error) {
	var errs conf.Errors
	var c window
	if len(w.Days) == 0 {
		c.days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range w.Days {
		wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			errs.Add(fmt.Sprintf("days[%d]", i), "must be one of mon, tue, wed, thu, fri, sat, sun (got %q)", d)
			continue
		}
		c.days[wd] = true
	}
	switch {
	case w.From == "" && w.To == "":
	case w.From == "":
		errs.Add("from", "is required with to")
	case w.To == "":
		errs.Add("to", "is required with from")
	default:
		var err error
		if c.from, err = parseClock(w.From); err != nil {
			errs.Add("from", "%v", err)
		}
		if c.to, err = parseClock(w.To); err != nil {
			errs.Add("to", "%v", err)
		}
		if err == nil && c.from == c.to {
			errs.Add("to", "must differ from from")
		}
	}
	if len(w.Days) > 0 {
		c.text = strings.ToLower(strings.Join(w.Days, ","))
	}
	if w.From != "" {
		c.text = strings.TrimSpace(c.text + " " + w.From + "–" + w.To)
	}
	if c.text == "" {
		c.text = "any time"
	}
	return c, errs.Err()
}

func parseClock(v string) (int, error) {
	h, m, ok := strings.Cut(v, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(m) != 2 || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("must be a time of day HH:MM (got %q)", v)
	}
	return hh*60 + mm, nil
}

// contains reports whether local time lt falls inside the window. A window spanning
// midnight belongs to the day it starts on: "fri 22:00–06:00" holds on Saturday at 03:00.
func (w *window) contains(lt time.Time) bool {
	min := lt.Hour()*60 + lt.Minute()
	switch {
	case w.from == w.to:
		return w.days[lt.Weekday()]
	case w.from < w.to:
		return w.days[lt.Weekday()] && min >= w.from && min < w.to
	case min >= w.from:
		return w.days[lt.Weekday()]
	case min < w.to:
		return w.days[(lt.Weekday()+6)%7]
	}
	return false
}
