package webform

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
)

// Defaults of the channels.form section.
const (
	DefaultAccount        = "default"
	DefaultPolicyVersion  = "1"
	DefaultRegion         = "RU"
	DefaultMaxBodyBytes   = 16 << 10
	DefaultDedupeWindow   = 10 * time.Minute
	DefaultRatePerMinute  = 30
	DefaultBurst          = 10
	DefaultMaxTrackedIPs  = 10000
	DefaultCaptchaTimeout = 5 * time.Second
)

// Config is the channels.form: section.
type Config struct {
	// Enabled registers POST /webhooks/form (default true).
	Enabled *bool `yaml:"enabled"`
	// Account names this form in Inbound.Account and in dedupe keys (default "default").
	Account string `yaml:"account"`
	// Locale is the language of the automatic messages to this form's visitors (en, ru);
	// "" = locale.default.
	Locale string `yaml:"locale"`
	// PolicyVersion is the version of the personal-data policy the visitor consents to; it is
	// stored with every lead next to the consent time (default "1").
	PolicyVersion string `yaml:"policy_version"`
	// DefaultRegion is the ISO 3166 region used to read phone numbers written without a
	// country code, e.g. "8 916 123-45-67" (default "RU").
	DefaultRegion string `yaml:"default_region"`
	// MaxBodyBytes caps the request body (default 16 KiB; larger bodies get 413).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DedupeWindow: without an Idempotency-Key, the same contact and message within this
	// window is one lead (default 10m).
	DedupeWindow time.Duration `yaml:"dedupe_window"`
	// RatePerMinute is the sustained number of submissions per client IP (default 30);
	// a negative value disables the per-IP limit (benchmarks, a limit enforced upstream).
	RatePerMinute float64 `yaml:"rate_per_minute"`
	// Burst is how many submissions one IP may make at once (default 10).
	Burst int `yaml:"burst"`
	// MaxTrackedIPs bounds the memory of the rate limiter (default 10000 addresses; the
	// least recently seen are forgotten first).
	MaxTrackedIPs int `yaml:"max_tracked_ips"`
	// TrustForwardedFor takes the client address from X-Forwarded-For. Enable it only behind
	// a reverse proxy that sets the header, otherwise any client can pick its own address.
	TrustForwardedFor bool `yaml:"trust_forwarded_for"`
	// AllowedOrigins enables CORS for these origins ("https://example.com", or "*").
	// When set, a POST carrying another Origin is refused with 403.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Captcha, when verify_url is set, requires a captcha token verified by the provider.
	Captcha CaptchaConfig `yaml:"captcha"`
}

// CaptchaConfig is channels.form.captcha: a reCAPTCHA / hCaptcha / Turnstile style
// siteverify endpoint (POST secret, response, remoteip; answers {"success": true}).
type CaptchaConfig struct {
	VerifyURL string        `yaml:"verify_url"`
	Secret    string        `yaml:"secret"` // from the environment: secret: ${CAPTCHA_SECRET}
	Timeout   time.Duration `yaml:"timeout"`
}

// IsEnabled reports whether the form endpoint is on.
func (c *Config) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Enabled == nil {
		t := true
		c.Enabled = &t
	}
	if c.Account == "" {
		c.Account = DefaultAccount
	}
	if c.PolicyVersion == "" {
		c.PolicyVersion = DefaultPolicyVersion
	}
	if c.DefaultRegion == "" {
		c.DefaultRegion = DefaultRegion
	}
	c.DefaultRegion = strings.ToUpper(c.DefaultRegion)
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = DefaultDedupeWindow
	}
	if c.RatePerMinute == 0 {
		c.RatePerMinute = DefaultRatePerMinute
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxTrackedIPs == 0 {
		c.MaxTrackedIPs = DefaultMaxTrackedIPs
	}
	if c.Captcha.Timeout == 0 {
		c.Captcha.Timeout = DefaultCaptchaTimeout
	}
}

// Validate checks the section; paths are relative to "channels.form".
func (c *Config) Validate() error {
	var errs conf.Errors
	if strings.ContainsAny(c.Account, "{}: ") {
		errs.Add("account", "must not contain '{', '}', ':' or spaces")
	}
	if err := locale.CheckLang(c.Locale); err != nil {
		errs.Add("locale", "%v", err)
	}
	if len(c.PolicyVersion) > 64 {
		errs.Add("policy_version", "must be at most 64 characters")
	}
	if !phonenumbers.GetSupportedRegions()[strings.ToUpper(c.DefaultRegion)] {
		errs.Add("default_region", "%q is not a region code like RU or DE", c.DefaultRegion)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<20 {
		errs.Add("max_body_bytes", "must be between 1024 and 1048576")
	}
	if c.DedupeWindow < time.Second {
		errs.Add("dedupe_window", "must be at least 1s")
	}
	if c.RatePerMinute > 0 && c.Burst < 1 {
		errs.Add("burst", "must be at least 1")
	}
	if c.MaxTrackedIPs < 1 {
		errs.Add("max_tracked_ips", "must be positive")
	}
	for i, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			errs.Add(indexPath("allowed_origins", i), "must be an origin like https://example.com or \"*\" (got %q)", o)
		}
	}
	if c.Captcha.VerifyURL != "" {
		u, err := url.Parse(c.Captcha.VerifyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL is not a secret, but keep the message short.
			errs.Add("captcha.verify_url", "must be an http(s) URL")
		}
		if c.Captcha.Secret == "" {
			errs.Add("captcha.secret", "is required when captcha.verify_url is set (use ${ENV_VAR})")
		}
		if c.Captcha.Timeout <= 0 {
			errs.Add("captcha.timeout", "must be positive")
		}
	}
	return errs.Err()
}

func indexPath(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }

// Locales maps the form's account to its visitors' language, if set.
func (c *Config) Locales() map[string]string {
	if c.Locale == "" {
		return nil
	}
	return map[string]string{c.Account: c.Locale}
}
