package router_test

import (
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/router"
)

// weekdaysMoscow is a Monday-to-Friday shift in Moscow time (UTC+3).
func weekdaysMoscow(from, to string) []router.Shift {
	return []router.Shift{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: from, To: to, TimeZone: "Europe/Moscow"}}
}

func utc(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) } // 2026-11-23 is a Monday

// lastAuto returns the automatic reply sent to contact.
func (e *env) lastAuto(contact string) channels.Outbound {
	e.t.Helper()
	e.sender.mu.Lock()
	defer e.sender.mu.Unlock()
	for i := len(e.sender.sent) - 1; i >= 0; i-- {
		if o := e.sender.sent[i]; o.ContactID == contact && (o.Kind == "auto_ack" || o.Kind == "off_hours") {
			return o
		}
	}
	e.t.Fatalf("no automatic reply to %s", contact)
	return channels.Outbound{}
}

const (
	ackText = "Thank you for your message! A manager will answer you within a minute."
	offText = "Thank you for your message! Nobody can answer right now; a manager will reply "
)

// schedule mode: the off-hours text goes out when nobody is on shift, with the next shift
// start in the customer's zone when known, else router.time_zone, else the shift's zone.
func TestOffHoursScheduleGivesTheNextShiftStart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		now      time.Time
		zone     string // router.time_zone
		tz       string // the customer's zone (meta tz)
		kind     string
		whenText string
	}{
		{"Saturday: Monday's shift, in the shift's zone", utc(28, 12, 0), "", "", "off_hours", "on Monday at 09:00."},
		{"Sunday: tomorrow", utc(29, 12, 0), "", "", "off_hours", "tomorrow at 09:00."},
		{"Thursday 05:00 Moscow: today", utc(26, 2, 0), "", "", "off_hours", "today at 09:00."},
		{"Thursday 19:00 Moscow: tomorrow", utc(26, 16, 0), "", "", "off_hours", "tomorrow at 09:00."},
		{"company zone", utc(28, 12, 0), "Asia/Yekaterinburg", "", "off_hours", "on Monday at 11:00."},
		{"customer zone wins", utc(28, 12, 0), "Asia/Yekaterinburg", "Europe/London", "off_hours", "on Monday at 06:00."},
		{"unknown customer zone: the company's", utc(28, 12, 0), "Asia/Yekaterinburg", "Mars/Olympus", "off_hours", "on Monday at 11:00."},
		{"on shift and nobody online: schedule acknowledges", utc(25, 10, 0), "", "", "auto_ack", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, opts{cfg: router.Config{TimeZone: tc.zone},
				managers: []router.Manager{{ID: "anna", Capacity: 2, Shifts: weekdaysMoscow("09:00", "18:00")}}})
			e.clock.Set(tc.now)
			in := channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m1", ContactID: "c1", Text: "hi"}
			if tc.tz != "" {
				in.Meta = map[string]string{"tz": tc.tz}
			}
			e.ingestMsg(in)
			got := e.lastAuto("c1")
			want := ackText
			if tc.kind == "off_hours" {
				want = offText + tc.whenText
			}
			if got.Kind != tc.kind || got.Text != want {
				t.Fatalf("sent %s %q, want %s %q", got.Kind, got.Text, tc.kind, want)
			}
		})
	}
}

// nobody_online mode: the off-hours text also goes out when managers are on shift but none
// of them is online (an online manager off shift does not count); the lead still waits in
// the queue and is offered as soon as someone on shift comes online.
func TestOffHoursNobodyOnline(t *testing.T) {
	e := newEnv(t, opts{cfg: router.Config{OffHoursWhen: router.OffHoursNobodyOnline}, managers: []router.Manager{
		{ID: "anna", Capacity: 2, Shifts: weekdaysMoscow("09:00", "18:00")},
		{ID: "boris", Capacity: 2, Shifts: weekdaysMoscow("12:00", "20:00")},
		{ID: "carl", Capacity: 2, Shifts: []router.Shift{{Days: []string{"sat"}, From: "09:00", To: "18:00"}}},
	}})
	e.clock.Set(utc(25, 10, 0)) // Wednesday 13:00 Moscow: anna and boris on shift, carl not
	e.online("carl")
	e.inbound("c1", "hi")
	if got := e.lastAuto("c1"); got.Kind != "off_hours" || got.Text != offText+"tomorrow at 09:00." {
		t.Fatalf("nobody on shift online: sent %s %q", got.Kind, got.Text)
	}
	if c := e.conv(1); c.State != router.StateWaiting {
		t.Fatalf("state %s, want waiting", c.State)
	}
	e.online("boris")
	if c := e.conv(1); c.OfferTo != "boris" {
		t.Fatalf("not offered when boris came online: %+v", c)
	}
	e.inbound("c2", "hi")
	if got := e.lastAuto("c2"); got.Kind != "auto_ack" || got.Text != ackText {
		t.Fatalf("boris online: sent %s %q", got.Kind, got.Text)
	}
	// Saturday: carl is on shift but offline, the others are online but off shift
	e.online("anna")
	e.clock.Set(utc(28, 12, 0))
	if err := e.r.SetOnline(e.ctx, "carl", false); err != nil {
		t.Fatal(err)
	}
	e.inbound("c3", "hi")
	if got := e.lastAuto("c3"); got.Kind != "off_hours" || got.Text != offText+"on Monday at 09:00." {
		t.Fatalf("Saturday, carl offline: sent %s %q", got.Kind, got.Text)
	}
	// the same on the schedule alone: nobody on shift at all (Sunday)
	e.clock.Set(utc(29, 12, 0))
	e.inbound("c4", "hi")
	if got := e.lastAuto("c4"); got.Kind != "off_hours" || got.Text != offText+"tomorrow at 09:00." {
		t.Fatalf("Sunday: sent %s %q", got.Kind, got.Text)
	}
}

func TestOffHoursConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  router.Config
		want string
	}{
		{router.Config{OffHoursWhen: "never"}, `off_hours_when: must be schedule or nobody_online (got "never")`},
		{router.Config{TimeZone: "Mars/Olympus"}, `time_zone: unknown time zone "Mars/Olympus"`},
	} {
		tc.cfg.Defaults()
		if err := tc.cfg.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}
