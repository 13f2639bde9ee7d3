package calls_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels/calls"
	"github.com/lidorub/lidorub/config"
)

// callsExample is config.yaml with the channels.calls example uncommented.
func callsExample(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "  # calls:":
			in = true
		case in && !strings.HasPrefix(l, "  #   "):
			in = false
		}
		if in {
			lines[i] = "  " + strings.TrimPrefix(l, "  # ")
		}
	}
	return strings.Join(lines, "\n")
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// The commented example in config.yaml is a valid section with the documented defaults.
func TestConfigExample(t *testing.T) {
	cfg, err := config.Parse([]byte(callsExample(t)), lookup(map[string]string{"ZADARMA_SECRET": "zs",
		"MANGO_API_KEY": "mk", "MANGO_API_SALT": "ms", "CALLS_WEBHOOK_SECRET": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Channels.Calls
	if !c.Enabled || !c.Zadarma.Enabled || !c.Mango.Enabled || !c.Generic.Enabled || c.DefaultRegion != "RU" ||
		*c.MissedPriorityBoost != 3 || c.Zadarma.TZ != "Europe/Moscow" || c.Zadarma.Managers["101"] != "anna" ||
		c.Mango.APIKey != "mk" || c.Generic.Tolerance != 5*time.Minute || c.Generic.Managers["anna@pbx.example.com"] != "anna" {
		t.Fatalf("parsed %+v", c)
	}
}

// Each mistake is reported with its YAML path.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  calls.Config
		want string
	}{
		{"no provider", calls.Config{Enabled: true}, "enabled: needs at least one provider enabled"},
		{"zadarma secret", calls.Config{Enabled: true, Zadarma: calls.ZadarmaConfig{Enabled: true}}, "zadarma.secret: is required"},
		{"zadarma tz", calls.Config{Enabled: true, Zadarma: calls.ZadarmaConfig{Enabled: true, Secret: "s", TZ: "Mars/Olympus"}}, "zadarma.tz:"},
		{"mango key", calls.Config{Enabled: true, Mango: calls.MangoConfig{Enabled: true, APISalt: "s"}}, "mango.api_key: is required"},
		{"mango salt", calls.Config{Enabled: true, Mango: calls.MangoConfig{Enabled: true, APIKey: "k"}}, "mango.api_salt: is required"},
		{"generic secret", calls.Config{Enabled: true, Generic: calls.GenericConfig{Enabled: true, Secret: "short"}}, "generic.secret: is required, at least 16"},
		{"manager id", calls.Config{Enabled: true, Generic: calls.GenericConfig{Enabled: true, Secret: "0123456789abcdef",
			Managers: calls.Managers{"101": "Anna Smith"}}}, "generic.managers.101: must be a manager id"},
		{"boost", calls.Config{Enabled: true, MissedPriorityBoost: ptr(12), Generic: calls.GenericConfig{Enabled: true, Secret: "0123456789abcdef"}},
			"missed_priority_boost: must be between 0 and 9"},
		{"region", calls.Config{Enabled: true, DefaultRegion: "XX", Generic: calls.GenericConfig{Enabled: true, Secret: "0123456789abcdef"}},
			"default_region:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Defaults()
			err := c.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Fatal("the error shows a secret")
			}
		})
	}
	off := calls.Config{Zadarma: calls.ZadarmaConfig{Enabled: true}}
	off.Defaults()
	if err := off.Validate(); err != nil {
		t.Fatalf("a disabled section was checked: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
