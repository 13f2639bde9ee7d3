package webchat

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
)

// Defaults of the channels.webchat section.
const (
	DefaultAccount         = "default"
	DefaultTokenTTL        = 30 * 24 * time.Hour
	DefaultPolicyVersion   = "1"
	DefaultRegion          = "RU"
	DefaultMaxChars        = 2000
	DefaultHistoryLimit    = 200
	DefaultRatePerMinute   = 20
	DefaultBurst           = 10
	DefaultIPRatePerMinute = 120
	DefaultIPBurst         = 60
	DefaultMaxTracked      = 10000
	DefaultHeartbeat       = 15 * time.Second
	DefaultStreamDuration  = 5 * time.Minute
	DefaultPollWait        = 25 * time.Second
	minSecretBytes         = 32
)

// Config is the channels.webchat: section.
type Config struct {
	// Enabled serves the widget and its endpoints under /webchat/ (default false).
	Enabled bool `yaml:"enabled"`
	// Account names this chat in Inbound.Account and in Redis keys (default "default").
	Account string `yaml:"account"`
	// Secret signs the visitors' session tokens (HMAC-SHA256): at least 32 bytes, from the
	// environment (secret: ${WEBCHAT_SECRET}). Changing it ends every session.
	Secret string `yaml:"secret"`
	// TokenTTL is how long a session lasts without the visitor coming back (default 720h);
	// every visit renews it, and the session's history expires with it.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// AllowedOrigins are the sites that embed the widget ("https://example.com", or "*").
	// Required: a browser request from any other origin is refused with 403.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// RequireConsent: a message is stored only with the visitor's consent to personal data
	// processing (the widget shows a checkbox; default true, as the web form).
	RequireConsent *bool `yaml:"require_consent"`
	// PolicyURL is the personal-data policy the widget links to (optional).
	PolicyURL string `yaml:"policy_url"`
	// PolicyVersion is stored with every message next to the consent time (default "1").
	PolicyVersion string `yaml:"policy_version"`
	// Locale is the widget's language when the page names none (data-lang) and the
	// browser's is not supported: en or ru ("" = en).
	Locale string `yaml:"locale"`
	// DefaultRegion reads phone numbers left for a callback without a country code (default RU).
	DefaultRegion string `yaml:"default_region"`
	// MaxChars is the longest message in characters (default 2000; longer ones get 413).
	MaxChars int `yaml:"max_chars"`
	// HistoryLimit is how many messages of a session are kept for the visitor (default 200).
	HistoryLimit int `yaml:"history_limit"`
	// RatePerMinute and Burst limit the messages of one session (default 20/min, 10 at once).
	RatePerMinute float64 `yaml:"rate_per_minute"`
	Burst         int     `yaml:"burst"`
	// IPRatePerMinute and IPBurst limit every request of one client address (default
	// 120/min, 60 at once); a negative rate disables the limit.
	IPRatePerMinute float64 `yaml:"ip_rate_per_minute"`
	IPBurst         int     `yaml:"ip_burst"`
	// MaxTracked bounds the memory of each rate limiter (default 10000 keys).
	MaxTracked int `yaml:"max_tracked"`
	// TrustForwardedFor takes the client address from X-Forwarded-For (behind a proxy only).
	TrustForwardedFor bool `yaml:"trust_forwarded_for"`
	// Heartbeat is the interval of SSE keep-alive comments, and of a re-check of the
	// session's messages should a notification be lost (default 15s).
	Heartbeat time.Duration `yaml:"heartbeat"`
	// StreamDuration ends an SSE response after this long; the browser reconnects at once
	// with Last-Event-ID (default 5m).
	StreamDuration time.Duration `yaml:"stream_duration"`
	// PollWait is the longest a long-polling request waits for a message (default 25s).
	PollWait time.Duration `yaml:"poll_wait"`
}

// IsEnabled reports whether the chat is on.
func (c *Config) IsEnabled() bool { return c.Enabled }

// ConsentRequired reports whether messages need the visitor's consent.
func (c *Config) ConsentRequired() bool { return c.RequireConsent == nil || *c.RequireConsent }

// Defaults fills unset fields of an enabled section (a disabled one stays as written).
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Account == "" {
		c.Account = DefaultAccount
	}
	if c.RequireConsent == nil {
		t := true
		c.RequireConsent = &t
	}
	if c.PolicyVersion == "" {
		c.PolicyVersion = DefaultPolicyVersion
	}
	if c.DefaultRegion == "" {
		c.DefaultRegion = DefaultRegion
	}
	c.DefaultRegion = strings.ToUpper(c.DefaultRegion)
	setD(&c.TokenTTL, DefaultTokenTTL)
	set(&c.MaxChars, DefaultMaxChars)
	set(&c.HistoryLimit, DefaultHistoryLimit)
	setF(&c.RatePerMinute, DefaultRatePerMinute)
	set(&c.Burst, DefaultBurst)
	setF(&c.IPRatePerMinute, DefaultIPRatePerMinute)
	set(&c.IPBurst, DefaultIPBurst)
	set(&c.MaxTracked, DefaultMaxTracked)
	setD(&c.Heartbeat, DefaultHeartbeat)
	setD(&c.StreamDuration, DefaultStreamDuration)
	setD(&c.PollWait, DefaultPollWait)
}

// Validate checks the section; paths are relative to "channels.webchat". Nothing is checked
// while the chat is disabled.
func (c *Config) Validate() error {
	var errs conf.Errors
	if !c.Enabled {
		return nil
	}
	if strings.ContainsAny(c.Account, "{}: /") {
		errs.Add("account", "must not contain '{', '}', ':', '/' or spaces")
	}
	switch {
	case c.Secret == "":
		errs.Add("secret", "is required (use ${ENV_VAR}, at least 32 bytes)")
	case len(c.Secret) < minSecretBytes:
		errs.Add("secret", "must be at least 32 bytes") // never echo the secret
	}
	if c.TokenTTL < time.Minute {
		errs.Add("token_ttl", "must be at least 1m")
	}
	if len(c.AllowedOrigins) == 0 {
		errs.Add("allowed_origins", "is required: the origins of the sites that embed the widget (https://example.com)")
	}
	for i, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			errs.Add("allowed_origins["+strconv.Itoa(i)+"]", "must be an origin like https://example.com or \"*\" (got %q)", o)
		}
	}
	if c.PolicyURL != "" {
		if u, err := url.Parse(c.PolicyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add("policy_url", "must be an http(s) URL")
		}
	}
	if len(c.PolicyVersion) > 64 {
		errs.Add("policy_version", "must be at most 64 characters")
	}
	if err := locale.CheckLang(c.Locale); err != nil {
		errs.Add("locale", "%v", err)
	}
	if !phonenumbers.GetSupportedRegions()[c.DefaultRegion] {
		errs.Add("default_region", "%q is not a region code like RU or DE", c.DefaultRegion)
	}
	if c.MaxChars < 1 || c.MaxChars > 20000 {
		errs.Add("max_chars", "must be between 1 and 20000")
	}
	if c.HistoryLimit < 10 || c.HistoryLimit > 10000 {
		errs.Add("history_limit", "must be between 10 and 10000")
	}
	if c.RatePerMinute > 0 && c.Burst < 1 {
		errs.Add("burst", "must be at least 1")
	}
	if c.IPRatePerMinute > 0 && c.IPBurst < 1 {
		errs.Add("ip_burst", "must be at least 1")
	}
	if c.MaxTracked < 1 {
		errs.Add("max_tracked", "must be positive")
	}
	if c.Heartbeat < 100*time.Millisecond {
		errs.Add("heartbeat", "must be at least 100ms")
	}
	if c.StreamDuration < c.Heartbeat {
		errs.Add("stream_duration", "must be at least the heartbeat")
	}
	if c.PollWait < time.Second || c.PollWait > 2*time.Minute {
		errs.Add("poll_wait", "must be between 1s and 2m")
	}
	return errs.Err()
}
