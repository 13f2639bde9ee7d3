package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/config"
)

// The start-up summary names the enabled channels and their accounts, the managers by role
// with how many are on shift at the given time, and the Redis mode — and no token.
func TestSummary(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Managers[0].Role = "supervisor"
	tg := newTestGateway(t, cfg)
	kv := tg.g.Summary(t0)
	got := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		got[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
	}
	want := map[string]string{
		"channels": "form[default]",
		"managers": "lead 1 (1 on shift now), supervisor 1 (1 on shift now)",
		"strategy": "least_busy",
		"redis":    "standalone",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if s := fmt.Sprint(kv...); strings.Contains(s, annaToken) || strings.Contains(s, borisToken) {
		t.Errorf("the summary names a token: %s", s)
	}
}

// A manager with a shift counts as on shift only inside it.
func TestSummaryShifts(t *testing.T) {
	doc := `
managers:
  - id: anna
    shifts: [{days: [wed], from: "09:00", to: "18:00", tz: UTC}]
  - id: boris
    shifts: [{days: [mon], from: "09:00", to: "18:00", tz: UTC}]
`
	cfg, err := config.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{Config: cfg}
	kv := g.Summary(t0) // a Wednesday 10:00 UTC
	if got := fmt.Sprint(kv[3]); got != "lead 2 (1 on shift now)" {
		t.Errorf("managers = %q", got)
	}
	if got := fmt.Sprint(kv[1]); got != "none" {
		t.Errorf("channels of a gateway with none built = %q", got)
	}
	if got := fmt.Sprint(kv[7]); got != "embedded (in memory, lost on exit)" {
		t.Errorf("redis = %q", got)
	}
}
