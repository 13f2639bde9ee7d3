package router_test

import (
	"testing"
	"time"

	"github.com/lidorub/lidorub/router"
)

func TestShifts(t *testing.T) {
	day := router.Shift{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "18:00", TimeZone: "Europe/Moscow"}
	night := router.Shift{Days: []string{"fri"}, From: "22:00", To: "06:00"} // UTC, spans midnight
	ms := []router.Manager{{ID: "a", Shifts: []router.Shift{day}}, {ID: "b", Shifts: []router.Shift{night}}, {ID: "c"}}
	router.ManagersDefaults(ms)
	if err := router.ValidateManagers(ms); err != nil {
		t.Fatal(err)
	}
	utc := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) } // 2026-11-27 is a Friday
	for _, tc := range []struct {
		name string
		m    int
		at   time.Time
		want bool
	}{
		{"Friday 09:00 Moscow", 0, utc(27, 6, 0), true},
		{"Friday 08:59 Moscow", 0, utc(27, 5, 59), false},
		{"Friday 17:59 Moscow", 0, utc(27, 14, 59), true},
		{"Friday 18:00 Moscow (end excluded)", 0, utc(27, 15, 0), false},
		{"Saturday noon Moscow", 0, utc(28, 9, 0), false},
		{"Friday 23:00 night shift", 1, utc(27, 23, 0), true},
		{"Saturday 05:59 belongs to Friday's night shift", 1, utc(28, 5, 59), true},
		{"Saturday 06:00", 1, utc(28, 6, 0), false},
		{"Friday 03:00 belongs to Thursday's night: no shift", 1, utc(27, 3, 0), false},
		{"no shifts: always", 2, utc(29, 3, 0), true},
	} {
		if got := ms[tc.m].OnShift(tc.at); got != tc.want {
			t.Errorf("%s: OnShift = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidateManagers(t *testing.T) {
	for _, tc := range []struct {
		name string
		ms   []router.Manager
		want string
	}{
		{"missing id", []router.Manager{{}}, "[0].id: is required"},
		{"bad id", []router.Manager{{ID: "Anna!"}}, `[0].id: must be 1-32 characters of a-z, 0-9, '_' or '-' (got "Anna!")`},
		{"duplicate", []router.Manager{{ID: "a"}, {ID: "a"}}, `[1].id: duplicates managers[0].id "a"`},
		{"short token", []router.Manager{{ID: "a", Token: "short"}}, "[0].token: must be at least 16 characters"},
		{"bad role", []router.Manager{{ID: "a", Role: "boss"}}, `[0].role: must be lead, sales or supervisor (got "boss")`},
		{"bad day", []router.Manager{{ID: "a", Shifts: []router.Shift{{Days: []string{"funday"}, From: "09:00", To: "10:00"}}}}, `[0].shifts[0].days[0]: must be one of mon, tue, wed, thu, fri, sat, sun (got "funday")`},
		{"bad time", []router.Manager{{ID: "a", Shifts: []router.Shift{{From: "9", To: "10:00"}}}}, `[0].shifts[0].from: must be a time of day HH:MM (got "9")`},
		{"bad zone", []router.Manager{{ID: "a", Shifts: []router.Shift{{From: "09:00", To: "10:00", TimeZone: "Mars/Olympus"}}}}, `[0].shifts[0].tz: unknown time zone "Mars/Olympus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			router.ManagersDefaults(tc.ms)
			err := router.ValidateManagers(tc.ms)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}
