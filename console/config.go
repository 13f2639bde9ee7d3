package console

import (
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// Config is the console: section.
type Config struct {
	// Enabled serves the console at /console/ (default true).
	Enabled *bool `yaml:"enabled"`
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// SecureCookie marks the session cookie Secure (HTTPS only). Unset: true unless
	// http.listen is a loopback address (the development set-up over plain HTTP).
	SecureCookie *bool `yaml:"secure_cookie"`
	// SignInPerMinute is how many sign-in attempts one client address may make per minute
	// (a burst of SignInBurst at once); default 10 and 5.
	SignInPerMinute float64 `yaml:"sign_in_per_minute"`
	SignInBurst     int     `yaml:"sign_in_burst"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Enabled == nil {
		on := true
		c.Enabled = &on
	}
	conf.Default(&c.SessionTTL, 12*time.Hour)
	conf.Default(&c.SignInPerMinute, 10)
	conf.Default(&c.SignInBurst, 5)
}

// Validate checks the section (paths relative to console:).
func (c *Config) Validate() error {
	var errs conf.Errors
	if c.SessionTTL < time.Minute || c.SessionTTL > 30*24*time.Hour {
		errs.Add("session_ttl", "must be between 1m and 720h (got %s)", c.SessionTTL)
	}
	if c.SignInPerMinute <= 0 {
		errs.Add("sign_in_per_minute", "must be positive")
	}
	if c.SignInBurst < 1 {
		errs.Add("sign_in_burst", "must be at least 1")
	}
	return errs.Err()
}

// IsEnabled reports whether the console is served.
func (c *Config) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Secure reports whether the session cookie is marked Secure, given whether the server
// listens on loopback only.
func (c *Config) Secure(loopback bool) bool {
	if c.SecureCookie != nil {
		return *c.SecureCookie
	}
	return !loopback
}
