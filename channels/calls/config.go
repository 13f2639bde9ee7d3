package calls

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/lidorub/lidorub/internal/conf"
)

// Defaults of the channels.calls section.
const (
	DefaultRegion        = "RU"
	DefaultMissedBoost   = 3
	DefaultMaxBodyBytes  = 64 << 10
	DefaultTolerance     = 5 * time.Minute
	DefaultZadarmaTZ     = "Europe/Moscow"
	DefaultCallStateTTL  = 24 * time.Hour
	minGenericSecretSize = 16
)

// Config is the channels.calls: section: telephony providers that report calls by webhook.
type Config struct {
	// Enabled turns the channel on. Absent or false: nothing runs and nothing is checked.
	Enabled bool `yaml:"enabled"`
	// DefaultRegion reads numbers written without a country code ("84951234567") (default RU).
	DefaultRegion string `yaml:"default_region"`
	// MissedPriorityBoost raises the priority of a callback lead (a missed call) over what
	// the qualification rules give it, up to 9 (default 3; 0 keeps the rules' priority).
	MissedPriorityBoost *int `yaml:"missed_priority_boost"`
	// MaxBodyBytes caps a webhook body (default 64 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`

	Zadarma ZadarmaConfig `yaml:"zadarma"`
	Mango   MangoConfig   `yaml:"mango"`
	Generic GenericConfig `yaml:"generic"`
}

// Managers maps a provider's extensions or SIP users ("101", "anna@pbx") to lead-manager
// ids. A call answered or made by an extension not listed has no manager: an inbound call
// is still an answered lead (queued for an owner); an outbound call is ignored.
type Managers map[string]string

// ZadarmaConfig is channels.calls.zadarma: Zadarma's PBX notifications (NOTIFY_*).
type ZadarmaConfig struct {
	Enabled bool `yaml:"enabled"`
	// Secret is the API "Secret" key of the Zadarma account (signs the notifications).
	Secret string `yaml:"secret"`
	// TZ is the time zone of call_start (the account's zone in Zadarma's settings; default Europe/Moscow).
	TZ       string   `yaml:"tz"`
	Managers Managers `yaml:"managers"`
}

// MangoConfig is channels.calls.mango: Mango Office VPBX API notifications (events/*).
type MangoConfig struct {
	Enabled bool `yaml:"enabled"`
	// APIKey is the VPBX's unique code (vpbx_api_key), APISalt its signing key.
	APIKey   string   `yaml:"api_key"`
	APISalt  string   `yaml:"api_salt"`
	Managers Managers `yaml:"managers"`
}

// GenericConfig is channels.calls.generic: the lidorub call-event format (see the README),
// for any PBX or call-tracking service that can POST a signed JSON webhook.
type GenericConfig struct {
	Enabled bool `yaml:"enabled"`
	// Secret signs the webhooks (HMAC-SHA256, at least 16 characters).
	Secret string `yaml:"secret"`
	// Tolerance is how far X-Lidorub-Timestamp may be from now (default 5m): older
	// deliveries are refused as replays.
	Tolerance time.Duration `yaml:"tolerance"`
	Managers  Managers      `yaml:"managers"`
}

// IsEnabled reports whether the channel is on.
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields of an enabled section.
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	conf.Default(&c.DefaultRegion, DefaultRegion)
	c.DefaultRegion = strings.ToUpper(c.DefaultRegion)
	if c.MissedPriorityBoost == nil {
		b := DefaultMissedBoost
		c.MissedPriorityBoost = &b
	}
	conf.Default(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	conf.Default(&c.Zadarma.TZ, DefaultZadarmaTZ)
	conf.Default(&c.Generic.Tolerance, DefaultTolerance)
}

// Validate checks the section; paths are relative to "channels.calls". A disabled section
// is not checked.
func (c *Config) Validate() error {
	var errs conf.Errors
	if !c.Enabled {
		return nil
	}
	if !phonenumbers.GetSupportedRegions()[c.DefaultRegion] {
		errs.Add("default_region", "%q is not a region code like RU or DE", c.DefaultRegion)
	}
	if b := c.MissedPriorityBoost; b != nil && (*b < 0 || *b > 9) {
		errs.Add("missed_priority_boost", "must be between 0 and 9")
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<20 {
		errs.Add("max_body_bytes", "must be between 1024 and 1048576")
	}
	if !c.Zadarma.Enabled && !c.Mango.Enabled && !c.Generic.Enabled {
		errs.Add("enabled", "needs at least one provider enabled (zadarma, mango or generic)")
	}
	if c.Zadarma.Enabled {
		if c.Zadarma.Secret == "" {
			errs.Add("zadarma.secret", "is required (the API secret key, e.g. ${ZADARMA_SECRET})")
		}
		if _, err := time.LoadLocation(c.Zadarma.TZ); err != nil {
			errs.Add("zadarma.tz", "%q is not an IANA time zone like Europe/Moscow", c.Zadarma.TZ)
		}
		checkManagers(&errs, "zadarma.managers", c.Zadarma.Managers)
	}
	if c.Mango.Enabled {
		if c.Mango.APIKey == "" {
			errs.Add("mango.api_key", "is required (the VPBX unique code, e.g. ${MANGO_API_KEY})")
		}
		if c.Mango.APISalt == "" {
			errs.Add("mango.api_salt", "is required (the VPBX signing key, e.g. ${MANGO_API_SALT})")
		}
		checkManagers(&errs, "mango.managers", c.Mango.Managers)
	}
	if c.Generic.Enabled {
		if len(c.Generic.Secret) < minGenericSecretSize {
			errs.Add("generic.secret", "is required, at least %d characters (e.g. ${CALLS_WEBHOOK_SECRET})", minGenericSecretSize)
		}
		if c.Generic.Tolerance < 10*time.Second {
			errs.Add("generic.tolerance", "must be at least 10s")
		}
		checkManagers(&errs, "generic.managers", c.Generic.Managers)
	}
	return errs.Err()
}

func checkManagers(errs *conf.Errors, path string, m Managers) {
	exts := make([]string, 0, len(m))
	for ext := range m {
		exts = append(exts, ext)
	}
	sort.Strings(exts)
	for _, ext := range exts {
		if strings.TrimSpace(ext) == "" || len(ext) > 128 {
			errs.Add(path, "an extension must be 1 to 128 characters (got %q)", ext)
		}
		if !conf.ValidName(m[ext]) {
			errs.Add(fmt.Sprintf("%s.%s", path, ext), "must be a manager id (got %q)", m[ext])
		}
	}
}
