package meta

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/conf"
)

// AppConfig is the part of a Meta channel's config section that every Meta channel has:
// the Meta app's webhook and the Graph API client. Channels embed it with `yaml:",inline"`,
// so its keys stay at the top of their section.
type AppConfig struct {
	Enabled bool `yaml:"enabled"`
	// AppSecret signs webhook deliveries (X-Hub-Signature-256). From the environment.
	AppSecret string `yaml:"app_secret"`
	// VerifyToken is the string you type into the Meta app's webhook settings.
	VerifyToken string `yaml:"verify_token"`
	// GraphURL is the Graph API base: https://graph.facebook.com, or for Instagram with
	// Instagram Login https://graph.instagram.com.
	GraphURL     string        `yaml:"graph_url"`
	GraphVersion string        `yaml:"graph_version"`
	Timeout      time.Duration `yaml:"timeout"`
	MaxBodyBytes int64         `yaml:"max_body_bytes"`
}

// IsEnabled reports whether the channel is on (enabled: true).
func (c *AppConfig) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields.
func (c *AppConfig) Defaults() {
	if c.GraphURL == "" {
		c.GraphURL = DefaultGraphURL
	}
	if c.GraphVersion == "" {
		c.GraphVersion = DefaultGraphVersion
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBody
	}
}

// Validate adds to errs what is wrong with the shared keys (paths relative to the channel's
// section); the caller checks Enabled first. secretEnv is the environment variable the
// app_secret error suggests, e.g. INSTAGRAM_APP_SECRET.
func (c *AppConfig) Validate(errs *conf.Errors, secretEnv string) {
	if c.AppSecret == "" {
		errs.Add("app_secret", "is required (set it from the environment, e.g. ${%s})", secretEnv)
	}
	if c.VerifyToken == "" {
		errs.Add("verify_token", "is required")
	}
	if u, err := url.Parse(c.GraphURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.Add("graph_url", "must be an http(s) URL")
	}
	if !strings.HasPrefix(c.GraphVersion, "v") {
		errs.Add("graph_version", "must look like v21.0 (got %q)", c.GraphVersion)
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.MaxBodyBytes < 1024 {
		errs.Add("max_body_bytes", "must be at least 1024")
	}
}

// Wire builds what every Meta channel builds the same way from its AppConfig: the metrics
// (every series of w.Channel and its accounts at zero), the Graph API client, and the
// webhook w completed with the app's secrets, body limit and those metrics. The caller sets
// w's Channel, Parse, AfterIngest, Ingester and Log.
func (c *AppConfig) Wire(w Webhook, accounts []string, reg prometheus.Registerer, alerter channels.Alerter,
	clk clock.Clock) (*Graph, *Webhook, error) {
	m, err := NewMetrics(reg, w.Channel, accounts)
	if err != nil {
		return nil, nil, fmt.Errorf("%s metrics: %w", w.Channel, err)
	}
	w.AppSecret, w.VerifyToken, w.MaxBody, w.Metrics = c.AppSecret, c.VerifyToken, c.MaxBodyBytes, m
	return NewGraph(w.Channel, c.GraphURL, c.GraphVersion, c.Timeout, alerter, m, clk, w.Log), &w, nil
}

// CheckAccountID checks one account's id at path: required (hint follows "is required"),
// unique among seen (where it is added; what names it in the error), and usable inside a
// Redis key.
func CheckAccountID(errs *conf.Errors, path, id, hint, what string, seen map[string]bool) {
	switch {
	case id == "":
		errs.Add(path, "is required%s", hint)
	case seen[id]:
		errs.Add(path, "duplicate %s %q", what, id)
	case strings.ContainsAny(id, "{}: "):
		errs.Add(path, "must not contain '{', '}', ':' or spaces")
	}
	seen[id] = true
}
