package whatsapp

import (
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
)

// Config is the channels.whatsapp: section.
//
//	channels:
//	  whatsapp:
//	    enabled: true
//	    store:
//	      dir: /var/lib/lidorub/whatsapp            # one SQLite file per account (default)
//	      # postgres_url: ${WHATSAPP_POSTGRES_URL}  # or every account in one Postgres database
//	    accounts:
//	      - name: sales
//	      - name: support
//	    allow_groups: false
//	    allow_from_me: false
//	    lease_ttl: 30s
type Config struct {
	Enabled bool        `yaml:"enabled"`
	Store   StoreConfig `yaml:"store"`
	// Accounts are the WhatsApp numbers this gateway serves, each linked once with
	// `lidorub whatsapp link --account NAME`.
	Accounts []AccountConfig `yaml:"accounts"`
	// AllowGroups also ingests group chats and broadcast lists (status updates never).
	AllowGroups bool `yaml:"allow_groups"`
	// AllowFromMe also ingests messages written from the phone itself (or another linked device).
	AllowFromMe bool `yaml:"allow_from_me"`
	// LeaseTTL is how long one gateway process holds an account's connection without
	// renewing it; it renews every LeaseTTL/3. Another process takes over after it lapses.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// LibraryLogLevel is the level of whatsmeow's own log lines: warn (default), error, info, debug.
	// Phone-number-like digit runs are redacted from them.
	LibraryLogLevel string `yaml:"library_log_level"`
}

// StoreConfig says where device sessions (the linked-device keys) are kept.
type StoreConfig struct {
	// Dir holds one SQLite file per account (<dir>/<account>.db). Default "data/whatsapp".
	Dir string `yaml:"dir"`
	// PostgresURL, when set, keeps every account's device in this Postgres database instead.
	PostgresURL string `yaml:"postgres_url"`
}

// AccountConfig is one WhatsApp number.
type AccountConfig struct {
	// Name identifies the account in commands, metrics, Redis keys and Outbound.Account.
	Name string `yaml:"name"`
	// Locale is the language of the automatic messages to this account's customers (en,
	// ru); "" = locale.default.
	Locale string `yaml:"locale"`
}

// DefaultAccount is the account name used when none is configured or given.
const DefaultAccount = "default"

// IsEnabled reports whether the channel is on (enabled: true).
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Store.Dir == "" {
		c.Store.Dir = "data/whatsapp"
	}
	if len(c.Accounts) == 0 {
		c.Accounts = []AccountConfig{{Name: DefaultAccount}}
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.LibraryLogLevel == "" {
		c.LibraryLogLevel = "warn"
	}
}

var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidAccountName reports whether name can be used as an account name (it ends up in file
// names, Redis keys and metric labels).
func ValidAccountName(name string) bool { return accountName.MatchString(name) }

// Validate checks the section; paths are relative to "channels.whatsapp". A disabled section
// is always valid.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs conf.Errors
	if c.Store.PostgresURL != "" {
		u, err := url.Parse(c.Store.PostgresURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs.Add("store.postgres_url", "must be a postgres:// URL")
		}
	} else if c.Store.Dir == "" {
		errs.Add("store.dir", "is required (or set store.postgres_url)")
	}
	if len(c.Accounts) == 0 {
		errs.Add("accounts", "at least one account is required")
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d].name", i)
		switch {
		case a.Name == "":
			errs.Add(p, "is required")
		case !ValidAccountName(a.Name):
			errs.Add(p, "must be 1-32 lowercase letters, digits, '-' or '_' (got %q)", a.Name)
		case seen[a.Name]:
			errs.Add(p, "duplicate account %q", a.Name)
		}
		seen[a.Name] = true
		if err := locale.CheckLang(a.Locale); err != nil {
			errs.Add(fmt.Sprintf("accounts[%d].locale", i), "%v", err)
		}
	}
	if c.LeaseTTL < 3*time.Second {
		errs.Add("lease_ttl", "must be at least 3s (got %s)", c.LeaseTTL)
	}
	switch c.LibraryLogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs.Add("library_log_level", "must be debug, info, warn or error (got %q)", c.LibraryLogLevel)
	}
	return errs.Err()
}

// AccountNames returns the configured account names.
func (c *Config) AccountNames() []string {
	out := make([]string, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		out = append(out, a.Name)
	}
	return out
}

// HasAccount reports whether name is a configured account.
func (c *Config) HasAccount(name string) bool {
	for _, a := range c.Accounts {
		if a.Name == name {
			return true
		}
	}
	return false
}

// Locales maps each account to its customers' language, where set.
func (c *Config) Locales() map[string]string {
	m := map[string]string{}
	for _, a := range c.Accounts {
		if a.Locale != "" {
			m[a.Name] = a.Locale
		}
	}
	return m
}
