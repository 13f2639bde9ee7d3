package viber

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/lidorub/lidorub/internal/conf"
)

// DefaultAPIURL is the base of the Viber REST Bot API (methods are POSTed to APIURL/<method>).
const DefaultAPIURL = "https://chatapi.viber.com/pa"

// MaxSenderName is the documented limit of send_message's sender.name.
const MaxSenderName = 28

// Config is the channels.viber: section.
type Config struct {
	// Enabled turns the channel on. Absent or false: nothing runs and nothing is checked.
	Enabled bool `yaml:"enabled"`
	// APIURL is the REST Bot API base (default https://chatapi.viber.com/pa; a test server
	// otherwise).
	APIURL string `yaml:"api_url"`
	// Timeout bounds every API call (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes bounds a callback body (default 1 MiB; callbacks are a few kilobytes).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DefaultRegion reads phone numbers of shared contacts written without a country code
	// (ISO 3166 code, default RU).
	DefaultRegion string `yaml:"default_region"`
	// Bots are the Viber bots (each its own authentication token).
	Bots []Bot `yaml:"bots"`
}

// Bot is one Viber bot.
type Bot struct {
	// Name identifies the bot in Redis keys, metrics, the callback path
	// (/webhooks/viber/<name>) and Outbound.Account.
	Name string `yaml:"name"`
	// Token is the bot's authentication token (X-Viber-Auth-Token; it also keys the callback
	// signatures). From the environment.
	Token string `yaml:"token"`
	// WebhookURL is the public https URL Viber posts callbacks to, ending in
	// /webhooks/viber/<name>. Set: the gateway registers it (set_webhook) at start. Empty:
	// register it yourself.
	WebhookURL string `yaml:"webhook_url"`
	// SenderName is shown as the sender of every message (required by send_message, at most
	// 28 characters).
	SenderName string `yaml:"sender_name"`
	// SenderAvatar is an optional https URL of the sender's picture.
	SenderAvatar string `yaml:"sender_avatar"`
}

// IsEnabled reports whether the channel is on (enabled: true).
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields of an enabled section (a disabled one is left as it is).
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	conf.Default(&c.APIURL, DefaultAPIURL)
	conf.Default(&c.Timeout, 10*time.Second)
	conf.Default(&c.MaxBodyBytes, 1<<20)
	conf.Default(&c.DefaultRegion, "RU")
	c.DefaultRegion = strings.ToUpper(c.DefaultRegion)
}

// Validate checks the section; paths are relative to "channels.viber". A disabled section
// is not checked.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs conf.Errors
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.Add("api_url", "must be an http(s) URL (got %q)", c.APIURL)
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.MaxBodyBytes < 1024 {
		errs.Add("max_body_bytes", "must be at least 1024")
	}
	if !phonenumbers.GetSupportedRegions()[c.DefaultRegion] {
		errs.Add("default_region", "%q is not a region code like RU or UA", c.DefaultRegion)
	}
	if len(c.Bots) == 0 {
		errs.Add("bots", "at least one bot is required when enabled")
	}
	names, tokens := map[string]int{}, map[string]int{}
	for i, b := range c.Bots {
		p := fmt.Sprintf("bots[%d]", i)
		switch {
		case !conf.ValidName(b.Name):
			errs.Add(p+".name", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", b.Name)
		default:
			if j, dup := names[b.Name]; dup {
				errs.Add(p+".name", "duplicates bots[%d].name %q", j, b.Name)
			}
			names[b.Name] = i
		}
		switch {
		case b.Token == "":
			errs.Add(p+".token", "is required (set it from the environment, e.g. ${VIBER_TOKEN})")
		case strings.ContainsAny(b.Token, " \r\n"):
			errs.Add(p+".token", "must not contain spaces or line breaks")
		default:
			if j, dup := tokens[b.Token]; dup {
				errs.Add(p+".token", "is the same as bots[%d].token", j)
			}
			tokens[b.Token] = i
		}
		if b.WebhookURL != "" {
			u, err := url.Parse(b.WebhookURL)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				errs.Add(p+".webhook_url", "must be an https URL (Viber accepts no other) (got %q)", b.WebhookURL)
			} else if !strings.HasSuffix(u.Path, "/webhooks/viber/"+b.Name) {
				errs.Add(p+".webhook_url", "must end in /webhooks/viber/%s (got %q)", b.Name, b.WebhookURL)
			}
		}
		switch n := utf8.RuneCountInString(b.SenderName); {
		case n == 0:
			errs.Add(p+".sender_name", "is required (the name shown as the sender of replies)")
		case n > MaxSenderName:
			errs.Add(p+".sender_name", "must be at most %d characters (got %d)", MaxSenderName, n)
		}
		if b.SenderAvatar != "" {
			if u, err := url.Parse(b.SenderAvatar); err != nil || u.Scheme != "https" || u.Host == "" {
				errs.Add(p+".sender_avatar", "must be an https URL (got %q)", b.SenderAvatar)
			}
		}
	}
	return errs.Err()
}
