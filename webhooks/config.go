package webhooks

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// Config is the webhooks: section.
type Config struct {
	Endpoints []Endpoint `yaml:"endpoints"`
	// Timeout bounds one delivery attempt (connect, send, answer). Default 15s.
	Timeout time.Duration `yaml:"timeout"`
	// Lease is how long a claimed item stays invisible to other deliverers: a gateway that
	// dies between sending and recording the answer leaves it to be sent again (same
	// webhook-id) once the lease ends. At least twice the timeout. Default 2m.
	Lease time.Duration `yaml:"lease"`
	// PollInterval is how often each instance looks for due items. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Batch is how many due items one claim takes from an endpoint. Default 50.
	Batch int `yaml:"batch"`
	// Concurrency is how many deliveries to one endpoint run at once per instance. Default 4.
	Concurrency int `yaml:"concurrency"`
	// RetrySchedule is the wait before each retry (the first attempt is immediate); an item
	// that failed them all is dead-lettered. Default the spec's 5s, 5m, 30m, 2h, 5h, 10h,
	// 14h, 20h, 24h (ten attempts).
	RetrySchedule []time.Duration `yaml:"retry_schedule"`
	// Jitter adds up to this fraction of each wait (0.1: up to 10 % later), so endpoints
	// coming back from an outage are not hit by every retry at once. Default 0.1.
	Jitter float64 `yaml:"jitter"`
	// DeadRetention is how long dead letters are kept for a replay. Default 720h (30 days).
	DeadRetention time.Duration `yaml:"dead_retention"`
}

// Endpoint is one receiver of signed events.
type Endpoint struct {
	ID  string `yaml:"id"`  // a-z, 0-9, '_', '-' (metrics label, Redis keys, replay URL)
	URL string `yaml:"url"` // http(s) URL the events are POSTed to
	// Secret is the signing secret, "whsec_" + base64 of 24..64 random bytes; put it in the
	// environment (${WEBHOOK_CRM_SECRET}).
	Secret string `yaml:"secret"`
	// Secrets are more secrets still signed with while the receiver rotates: every delivery
	// carries one signature per secret, space-separated.
	Secrets []string `yaml:"secrets"`
	// Events is the filter: event types (lead.created, ...); empty means every event.
	Events []string `yaml:"events"`
	// Enabled: false stops queueing and delivering to it. Default true.
	Enabled *bool `yaml:"enabled"`
}

// On reports whether the endpoint is enabled in the config.
func (e Endpoint) On() bool { return e.Enabled == nil || *e.Enabled }

// Wants reports whether the endpoint takes events of type t.
func (e Endpoint) Wants(t string) bool { return len(e.Events) == 0 || slices.Contains(e.Events, t) }

// DefaultRetrySchedule is the Standard Webhooks schedule after the immediate first attempt.
var DefaultRetrySchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Lease == 0 {
		c.Lease = max(2*time.Minute, 2*c.Timeout)
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.Batch == 0 {
		c.Batch = 50
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.RetrySchedule == nil {
		c.RetrySchedule = slices.Clone(DefaultRetrySchedule)
	}
	if c.Jitter == 0 {
		c.Jitter = 0.1
	}
	if c.DeadRetention == 0 {
		c.DeadRetention = 30 * 24 * time.Hour
	}
	for i := range c.Endpoints {
		if c.Endpoints[i].Enabled == nil {
			on := true
			c.Endpoints[i].Enabled = &on
		}
	}
}

// Validate checks the section; every error names its YAML path (relative to webhooks:).
// Secrets are never repeated in an error.
func (c *Config) Validate() error {
	var errs conf.Errors
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.Lease < 2*c.Timeout {
		errs.Add("lease", "must be at least twice webhooks.timeout (%s)", 2*c.Timeout)
	}
	if c.PollInterval <= 0 {
		errs.Add("poll_interval", "must be positive")
	}
	if c.Batch < 1 || c.Batch > 1000 {
		errs.Add("batch", "must be 1..1000 (got %d)", c.Batch)
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		errs.Add("concurrency", "must be 1..64 (got %d)", c.Concurrency)
	}
	if len(c.RetrySchedule) > 20 {
		errs.Add("retry_schedule", "at most 20 retries (got %d)", len(c.RetrySchedule))
	}
	for i, d := range c.RetrySchedule {
		if d <= 0 {
			errs.Add(fmt.Sprintf("retry_schedule[%d]", i), "must be positive")
		}
	}
	if c.Jitter < 0 || c.Jitter > 1 {
		errs.Add("jitter", "must be 0..1 (got %g)", c.Jitter)
	}
	if c.DeadRetention < time.Hour {
		errs.Add("dead_retention", "must be at least 1h")
	}
	seen := map[string]bool{}
	for i, e := range c.Endpoints {
		p := fmt.Sprintf("endpoints[%d]", i)
		if !conf.ValidName(e.ID) {
			errs.Add(p+".id", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", e.ID)
		} else if seen[e.ID] {
			errs.Add(p+".id", "duplicate endpoint id %q", e.ID)
		}
		seen[e.ID] = true
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs.Add(p+".url", "must be an absolute http(s) URL")
		}
		if err := checkSecret(e.Secret); err != nil {
			errs.Add(p+".secret", "%s", err)
		}
		for j, s := range e.Secrets {
			if err := checkSecret(s); err != nil {
				errs.Add(fmt.Sprintf("%s.secrets[%d]", p, j), "%s", err)
			}
		}
		for j, t := range e.Events {
			if !slices.Contains(EventTypes(), t) {
				errs.Add(fmt.Sprintf("%s.events[%d]", p, j), "must be one of %s (got %q)", strings.Join(EventTypes(), ", "), t)
			}
		}
	}
	return errs.Err()
}

// checkSecret checks a whsec_ secret without ever echoing it.
func checkSecret(s string) error {
	if s == "" {
		return fmt.Errorf("is required (whsec_ + base64; put it in the environment)")
	}
	b64, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return fmt.Errorf("must start with %s", secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("must be %s followed by standard base64", secretPrefix)
	}
	if len(key) < 24 || len(key) > 64 {
		return fmt.Errorf("must hold 24 to 64 bytes after %s (got %d)", secretPrefix, len(key))
	}
	return nil
}

// Active returns the endpoints enabled in the config.
func (c *Config) Active() []Endpoint {
	var out []Endpoint
	for _, e := range c.Endpoints {
		if e.On() {
			out = append(out, e)
		}
	}
	return out
}
