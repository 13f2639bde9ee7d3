package router

import (
	"time"

	"github.com/lidorub/lidorub/channels"
)

// When the off-hours template goes out instead of the acknowledgement (router.off_hours_when).
const (
	// OffHoursSchedule: when no lead-manager is on shift (the default).
	OffHoursSchedule = "schedule"
	// OffHoursNobodyOnline: when no lead-manager is on shift, or none of those on shift is
	// online: nobody can answer. Decided by process.lua with the managers' presence, so it is
	// exact across gateway processes.
	OffHoursNobodyOnline = "nobody_online"
)

// maxShiftLookahead bounds the search for the next shift start (shifts repeat weekly).
const maxShiftLookahead = 8

// nextStart returns the first start of the shift after now ("" false if it never starts).
func (s *Shift) nextStart(now time.Time) (time.Time, bool) {
	if s.loc == nil && s.compile() != nil {
		return time.Time{}, false
	}
	lt := now.In(s.loc)
	for d := 0; d < maxShiftLookahead; d++ {
		at := time.Date(lt.Year(), lt.Month(), lt.Day()+d, s.from/60, s.from%60, 0, 0, s.loc)
		if s.days[at.Weekday()] && at.After(now) {
			return at, true
		}
	}
	return time.Time{}, false
}

// nextShiftStart returns when a lead-manager next comes on shift after now, and the time zone
// of that shift: the earliest shift start that is not the continuation of a shift already
// running (a manager working 18:00-24:00 and 00:00-09:00 does not "start" at midnight).
// Managers without shifts (always on shift) never start one; ok is false when nobody does.
func (t *team) nextShiftStart(now time.Time) (at time.Time, loc *time.Location, ok bool) {
	for i := range t.managers {
		m := &t.managers[i]
		if m.Role != RoleLead {
			continue
		}
		for k := range m.Shifts {
			s := &m.Shifts[k]
			from := now
			for n := 0; n < maxShiftLookahead; n++ {
				start, found := s.nextStart(from)
				if !found {
					break
				}
				if !m.OnShift(start.Add(-time.Minute)) {
					if !ok || start.Before(at) {
						at, loc, ok = start, s.loc, true
					}
					break
				}
				from = start
			}
		}
	}
	return at, loc, ok
}

// customerLang is the language of the automatic texts to a customer of in's channel account
// (its locale, else the catalogue's default).
func (a *inboundApplier) customerLang(in channels.Inbound) string {
	return a.tpl.lang(in.Channel, in.Account)
}

// offHoursText is the off-hours text for a new conversation at now ("" = send nothing): the
// expected answer time (the next shift start, in the customer's time zone when the channel
// knows it — meta "tz" —, else router.time_zone, else the zone of that shift) in
// customer.off_hours_until, or the off-hours template when the owner wrote their own
// (templates.off_hours: it has no place for the time), no shift start is known or
// customer.off_hours_until is switched off ("-").
func (a *inboundApplier) offHoursText(in channels.Inbound, now time.Time) string {
	plain := a.tpl.text(keyOffHours, in.Channel, in.Account)
	if plain == "" {
		return ""
	}
	if a.tpl.custom(a.customerLang(in), keyOffHours) {
		return plain // the owner's own text: it has no place for the time
	}
	next, loc, ok := a.team.nextShiftStart(now)
	if !ok {
		return plain
	}
	if a.zone != nil {
		loc = a.zone
	}
	if tz := in.Meta["tz"]; tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	lang := a.customerLang(in)
	if s := a.tpl.cat.T(lang, "customer.off_hours_until", "when", a.tpl.cat.When(lang, now.In(loc), next.In(loc))); s != "" {
		return s
	}
	return plain
}
