package router

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// Assignment strategies.
const (
	LeastBusy   = "least_busy"   // fewest currently open conversations (ties: longest idle)
	RoundRobin  = "round_robin"  // next manager in config order after the last one offered
	LongestIdle = "longest_idle" // longest since their last offer
)

// Config is the router: section.
type Config struct {
	Strategy string `yaml:"strategy"`
	// OfferTimeout: an offer not accepted within it goes to the next free manager.
	OfferTimeout time.Duration `yaml:"offer_timeout"`
	// FirstResponse: after acceptance, the first human reply must come within it, else the
	// conversation is taken back, counted as an SLA breach and re-offered.
	FirstResponse time.Duration `yaml:"first_response"`
	// MaxOffers: after this many offers without a first reply the conversation is escalated
	// (it keeps waiting and being offered).
	MaxOffers int `yaml:"max_offers"`
	// Escalation: who is told about escalations, send failures and channel alerts.
	Escalation Escalation `yaml:"escalation"`
	// TranscriptLimit caps the messages kept per conversation.
	TranscriptLimit int `yaml:"transcript_limit"`
	// Retention: a closed conversation and its transcript are deleted this long after closing.
	Retention time.Duration `yaml:"retention"`
	// Workers: inbound, outbound and event consumers per process.
	Workers int `yaml:"workers"`
	// TimerInterval: how often due timers are popped (re-offer lateness is at most about this).
	TimerInterval time.Duration `yaml:"timer_interval"`
	// ReclaimIdle: stream entries pending this long on a dead instance are taken over.
	ReclaimIdle time.Duration `yaml:"reclaim_idle"`
	// MaxDeliveries: a stream entry failing this many times goes to the dead-letter stream.
	MaxDeliveries int `yaml:"max_deliveries"`
	// SendRetries: temporary send failures are retried this many times with backoff before the
	// entry is left for redelivery.
	SendRetries int `yaml:"send_retries"`
}

// Escalation names the people told about escalations.
type Escalation struct {
	// Managers (ids from managers:) who receive escalations, e.g. supervisors.
	Managers []string `yaml:"managers"`
	// TelegramChatID: a supervisors' group chat the staff bot posts escalations to (0 = none).
	TelegramChatID int64 `yaml:"telegram_chat_id"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Strategy == "" {
		c.Strategy = LeastBusy
	}
	if c.OfferTimeout == 0 {
		c.OfferTimeout = 30 * time.Second
	}
	if c.FirstResponse == 0 {
		c.FirstResponse = 2 * time.Minute
	}
	if c.MaxOffers == 0 {
		c.MaxOffers = 3
	}
	if c.TranscriptLimit == 0 {
		c.TranscriptLimit = 200
	}
	if c.Retention == 0 {
		c.Retention = 90 * 24 * time.Hour
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.TimerInterval == 0 {
		c.TimerInterval = 50 * time.Millisecond
	}
	if c.ReclaimIdle == 0 {
		c.ReclaimIdle = 30 * time.Second
	}
	if c.MaxDeliveries == 0 {
		c.MaxDeliveries = 5
	}
	if c.SendRetries == 0 {
		c.SendRetries = 3
	}
}

// Validate checks the section; paths are relative to "router".
func (c *Config) Validate() error {
	var errs conf.Errors
	switch c.Strategy {
	case LeastBusy, RoundRobin, LongestIdle:
	default:
		errs.Add("strategy", "must be one of least_busy, round_robin, longest_idle (got %q)", c.Strategy)
	}
	pos := func(path string, d time.Duration) {
		if d <= 0 {
			errs.Add(path, "must be positive")
		}
	}
	pos("offer_timeout", c.OfferTimeout)
	pos("first_response", c.FirstResponse)
	pos("retention", c.Retention)
	pos("timer_interval", c.TimerInterval)
	pos("reclaim_idle", c.ReclaimIdle)
	if c.MaxOffers < 1 {
		errs.Add("max_offers", "must be at least 1")
	}
	if c.TranscriptLimit < 1 {
		errs.Add("transcript_limit", "must be at least 1")
	}
	if c.Workers < 1 || c.Workers > 256 {
		errs.Add("workers", "must be between 1 and 256")
	}
	if c.MaxDeliveries < 1 {
		errs.Add("max_deliveries", "must be at least 1")
	}
	if c.SendRetries < 0 {
		errs.Add("send_retries", "must not be negative")
	}
	return errs.Err()
}

// Manager is one entry of managers:.
type Manager struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Role: "lead" (first tier, receives offers; default) or "supervisor" (receives escalations only).
	Role string `yaml:"role"`
	// TelegramID is the manager's Telegram user id for the staff bot (0 = not on Telegram).
	TelegramID int64 `yaml:"telegram_id"`
	// Token is the bearer token for the HTTP agent API. Put it in the environment: token: ${LM_ANNA_TOKEN}.
	Token string `yaml:"token"`
	// Capacity: at most this many open (offered + assigned) conversations.
	Capacity int `yaml:"capacity"`
	// Shifts: when the manager can be offered conversations. None means always.
	Shifts []Shift `yaml:"shifts"`
}

// Shift is a weekly working window in a time zone. To earlier than From spans midnight.
type Shift struct {
	Days     []string `yaml:"days"` // mon..sun; empty means every day
	From     string   `yaml:"from"` // "09:00"
	To       string   `yaml:"to"`   // "18:00"
	TimeZone string   `yaml:"tz"`   // IANA name, default UTC

	loc      *time.Location
	days     [7]bool
	from, to int // minutes after midnight
}

// Roles.
const (
	RoleLead       = "lead"
	RoleSupervisor = "supervisor"
)

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ManagersDefaults fills unset fields of every manager.
func ManagersDefaults(ms []Manager) {
	for i := range ms {
		if ms[i].Role == "" {
			ms[i].Role = RoleLead
		}
		if ms[i].Capacity == 0 {
			ms[i].Capacity = 5
		}
		if ms[i].Name == "" {
			ms[i].Name = ms[i].ID
		}
	}
}

// ValidateManagers checks managers: and compiles the shifts; paths are relative to "managers".
func ValidateManagers(ms []Manager) error {
	var errs conf.Errors
	ids := map[string]int{}
	tokens := map[string]int{}
	tg := map[int64]int{}
	for i := range ms {
		m := &ms[i]
		p := fmt.Sprintf("[%d]", i)
		switch {
		case m.ID == "":
			errs.Add(p+".id", "is required")
		case !validID(m.ID):
			errs.Add(p+".id", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", m.ID)
		default:
			if j, dup := ids[m.ID]; dup {
				errs.Add(p+".id", "duplicates managers[%d].id %q", j, m.ID)
			}
			ids[m.ID] = i
		}
		if m.Role != RoleLead && m.Role != RoleSupervisor {
			errs.Add(p+".role", "must be lead or supervisor (got %q)", m.Role)
		}
		if m.Capacity < 1 || m.Capacity > 1000 {
			errs.Add(p+".capacity", "must be between 1 and 1000")
		}
		if m.Token != "" {
			if len(m.Token) < 16 {
				errs.Add(p+".token", "must be at least 16 characters")
			} else if j, dup := tokens[m.Token]; dup {
				errs.Add(p+".token", "is the same as managers[%d].token", j)
			}
			tokens[m.Token] = i
		}
		if m.TelegramID != 0 {
			if j, dup := tg[m.TelegramID]; dup {
				errs.Add(p+".telegram_id", "is the same as managers[%d].telegram_id", j)
			}
			tg[m.TelegramID] = i
		}
		for k := range m.Shifts {
			if err := m.Shifts[k].compile(); err != nil {
				errs.Merge(fmt.Sprintf("%s.shifts[%d]", p, k), err)
			}
		}
	}
	return errs.Err()
}

func validID(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (s *Shift) compile() error {
	var errs conf.Errors
	s.days = [7]bool{}
	if len(s.Days) == 0 {
		s.days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range s.Days {
		wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			errs.Add(fmt.Sprintf("days[%d]", i), "must be one of mon, tue, wed, thu, fri, sat, sun (got %q)", d)
			continue
		}
		s.days[wd] = true
	}
	var err error
	if s.from, err = parseClock(s.From); err != nil {
		errs.Add("from", "%v", err)
	}
	if s.to, err = parseClock(s.To); err != nil {
		errs.Add("to", "%v", err)
	}
	tz := s.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	if s.loc, err = time.LoadLocation(tz); err != nil {
		errs.Add("tz", "unknown time zone %q", tz)
	}
	if s.From != "" && s.From == s.To {
		errs.Add("to", "must differ from from")
	}
	return errs.Err()
}

func parseClock(v string) (int, error) {
	h, m, ok := strings.Cut(v, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("must be a time of day HH:MM (got %q)", v)
	}
	return hh*60 + mm, nil
}

// Contains reports whether t falls inside the shift. The shift must have been compiled by
// ValidateManagers.
func (s *Shift) Contains(t time.Time) bool {
	if s.loc == nil {
		if s.compile() != nil {
			return false
		}
	}
	lt := t.In(s.loc)
	min := lt.Hour()*60 + lt.Minute()
	if s.from < s.to {
		return s.days[lt.Weekday()] && min >= s.from && min < s.to
	}
	// spans midnight: the part before midnight belongs to today, the part after to yesterday's shift
	if min >= s.from {
		return s.days[lt.Weekday()]
	}
	if min < s.to {
		return s.days[(lt.Weekday()+6)%7]
	}
	return false
}

// OnShift reports whether the manager works at t (no shifts: always).
func (m *Manager) OnShift(t time.Time) bool {
	if len(m.Shifts) == 0 {
		return true
	}
	for i := range m.Shifts {
		if m.Shifts[i].Contains(t) {
			return true
		}
	}
	return false
}

// Templates are the automatic messages. Left empty, a template gets a built-in text; set it
// to "-" to send nothing.
type Templates struct {
	AutoAck  string `yaml:"auto_ack"`  // sent at once to every new conversation during working hours
	OffHours string `yaml:"off_hours"` // sent instead when no lead-manager is on shift
	Close    string `yaml:"close"`     // polite close for tourists
}

// Defaults fills unset templates with friendly texts.
func (t *Templates) Defaults() {
	if t.AutoAck == "" {
		t.AutoAck = "Thank you for your message! A manager will answer you within a minute."
	}
	if t.OffHours == "" {
		t.OffHours = "Thank you for your message! We are closed right now; a manager will answer you first thing when we open."
	}
	if t.Close == "" {
		t.Close = "Thank you for your interest! If you have any more questions, just write to us."
	}
}

// Disabled is the template value that means "send nothing".
const Disabled = "-"

func tplText(s string) string {
	if s == Disabled {
		return ""
	}
	return s
}
