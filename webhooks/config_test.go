package webhooks

import (
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// TestConfigValidate: every mistake is reported with its YAML path, and no error repeats a secret.
func TestConfigValidate(t *testing.T) {
	leak := "whsec_bGVhay1jaGVjay1zZWNyZXQtdmFsdWU="
	good := func() Config {
		return Config{Endpoints: []Endpoint{{ID: "crm", URL: "https://hooks.example.com/in", Secret: testSecret}}}
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no endpoints", func(c *Config) { c.Endpoints = nil }, ""},
		{"bad id", func(c *Config) { c.Endpoints[0].ID = "CRM one" }, `endpoints[0].id: must be 1-32 characters`},
		{"duplicate id", func(c *Config) { c.Endpoints = append(c.Endpoints, c.Endpoints[0]) }, `endpoints[1].id: duplicate endpoint id "crm"`},
		{"relative url", func(c *Config) { c.Endpoints[0].URL = "/in" }, `endpoints[0].url: must be an absolute http(s) URL`},
		{"ftp url", func(c *Config) { c.Endpoints[0].URL = "ftp://x.example/in" }, `endpoints[0].url: must be an absolute http(s) URL`},
		{"no secret", func(c *Config) { c.Endpoints[0].Secret = "" }, `endpoints[0].secret: is required`},
		{"no prefix", func(c *Config) { c.Endpoints[0].Secret = strings.TrimPrefix(leak, "whsec_") }, `endpoints[0].secret: must start with whsec_`},
		{"short key", func(c *Config) { c.Endpoints[0].Secret = "whsec_c2hvcnQ=" }, `endpoints[0].secret: must hold 24 to 64 bytes after whsec_ (got 5)`},
		{"bad rotation secret", func(c *Config) { c.Endpoints[0].Secrets = []string{leak + "!"} }, `endpoints[0].secrets[0]: must be whsec_ followed by standard base64`},
		{"unknown event", func(c *Config) { c.Endpoints[0].Events = []string{"lead.won", "lead.sold"} }, `endpoints[0].events[1]: must be one of lead.created`},
		{"lease too short", func(c *Config) { c.Lease = 10 * time.Second }, `lease: must be at least twice webhooks.timeout (30s)`},
		{"timeout", func(c *Config) { c.Timeout = -time.Second; c.Lease = time.Minute }, `timeout: must be positive`},
		{"retry", func(c *Config) { c.RetrySchedule = []time.Duration{time.Second, 0} }, `retry_schedule[1]: must be positive`},
		{"jitter", func(c *Config) { c.Jitter = 2 }, `jitter: must be 0..1 (got 2)`},
		{"batch", func(c *Config) { c.Batch = 5000 }, `batch: must be 1..1000 (got 5000)`},
		{"concurrency", func(c *Config) { c.Concurrency = -1 }, `concurrency: must be 1..64 (got -1)`},
		{"dead retention", func(c *Config) { c.DeadRetention = time.Minute }, `dead_retention: must be at least 1h`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good()
			cfg.Defaults()
			c.edit(&cfg)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q", c.want)
			}
			found := false
			for _, e := range conf.Flatten(err) {
				found = found || strings.HasPrefix(e.Error(), c.want)
			}
			if !found {
				t.Errorf("errors %v; want one starting %q", err, c.want)
			}
			if strings.Contains(err.Error(), strings.TrimPrefix(leak, "whsec_")) {
				t.Errorf("an error repeats the secret: %v", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.Endpoints = []Endpoint{{ID: "crm"}}
	c.Defaults()
	if c.Timeout != 15*time.Second || c.Lease != 2*time.Minute || len(c.RetrySchedule) != 9 || c.RetrySchedule[8] != 24*time.Hour ||
		c.Jitter != 0.1 || c.Batch != 50 || c.Concurrency != 4 || !c.Endpoints[0].On() {
		t.Fatalf("defaults: %+v", c)
	}
}
