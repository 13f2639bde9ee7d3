package router

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
)

// Manager is one entry of managers:.
type Manager struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Role: "lead" (first tier, receives offers; default), "sales" (second tier, receives
	// handed-off leads; never first-tier offers) or "supervisor" (receives escalations only).
	Role string `yaml:"role"`
	// Weight: a sales manager's share under sales.strategy weighted (default 1; 0 = unset).
	Weight int `yaml:"weight"`
	// TelegramID is the manager's Telegram user id for the staff bot (0 = not on Telegram).
	TelegramID int64 `yaml:"telegram_id"`
	// Token is the bearer token for the HTTP agent API. Put it in the environment: token: ${LM_ANNA_TOKEN}.
	Token string `yaml:"token"`
	// Capacity: at most this many open (offered + assigned) conversations; for a sales
	// manager, open handed-off leads (offered + accepted + contacted).
	Capacity int `yaml:"capacity"`
	// Shifts: when the manager can be offered conversations. None means always.
	Shifts []Shift `yaml:"shifts"`
	// Locale is the language of the manager's staff-bot texts (en, ru); "" = locale.default.
	Locale string `yaml:"locale"`
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
		conf.Default(&ms[i].Role, RoleLead)
		conf.Default(&ms[i].Capacity, 5)
		conf.Default(&ms[i].Name, ms[i].ID)
		conf.Default(&ms[i].Weight, 1)
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
		case !conf.ValidName(m.ID):
			errs.Add(p+".id", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", m.ID)
		default:
			if j, dup := ids[m.ID]; dup {
				errs.Add(p+".id", "duplicates managers[%d].id %q", j, m.ID)
			}
			ids[m.ID] = i
		}
		if m.Role != RoleLead && m.Role != RoleSupervisor && m.Role != RoleSales {
			errs.Add(p+".role", "must be lead, sales or supervisor (got %q)", m.Role)
		}
		if m.Weight < 0 || m.Weight > 1000 { // 0: unset (ManagersDefaults makes it 1)
			errs.Add(p+".weight", "must be between 1 and 1000")
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
		if err := locale.CheckLang(m.Locale); err != nil {
			errs.Add(p+".locale", "%v", err)
		}
		for k := range m.Shifts {
			if err := m.Shifts[k].compile(); err != nil {
				errs.Merge(fmt.Sprintf("%s.shifts[%d]", p, k), err)
			}
		}
	}
	return errs.Err()
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
