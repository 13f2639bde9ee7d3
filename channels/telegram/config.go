package telegram

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// Bot modes.
const (
	ModePolling = "polling"
	ModeWebhook = "webhook"
)

// DefaultAPIURL is the public Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// Config is the channels.telegram: section.
type Config struct {
	// Enabled turns the channel on. Absent or false: nothing runs and nothing is checked.
	Enabled bool `yaml:"enabled"`
	// APIURL is the Bot API base URL (default https://api.telegram.org; a local Bot API server
	// or a test server otherwise). Requests go to APIURL + "/bot<token>/<method>".
	APIURL string `yaml:"api_url"`
	// RequestTimeout bounds every Bot API call except the long poll (default 10s).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// PollTimeout is the getUpdates long-poll timeout (default 25s); the HTTP timeout of a
	// poll is PollTimeout + RequestTimeout.
	PollTimeout time.Duration `yaml:"poll_timeout"`
	// LeaseTTL: only one gateway instance polls a bot; it holds a Redis lease for this long
	// and renews it on every poll. Another instance takes over when it lapses (default 60s).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// PerChatRate / PerChatBurst: messages per second to one chat (Telegram: about 1/s).
	PerChatRate  float64 `yaml:"per_chat_rate"`
	PerChatBurst int     `yaml:"per_chat_burst"`
	// GlobalRate: messages per second per bot overall (Telegram: about 30/s).
	GlobalRate float64 `yaml:"global_rate"`
	// Bots are the customer-facing bots.
	Bots []BotConfig `yaml:"bots"`
	// Staff is the lead-managers' bot.
	Staff StaffConfig `yaml:"staff"`
}

// BotConfig is one customer-facing bot.
type BotConfig struct {
	// Name identifies the bot in Redis keys, metrics, the webhook path and Outbound.Account.
	Name string `yaml:"name"`
	// Token from @BotFather. Put it in the environment: token: ${TG_SHOP_TOKEN}.
	Token string `yaml:"token"`
	// Mode: polling (default) or webhook.
	Mode string `yaml:"mode"`
	// WebhookURL is the public HTTPS URL Telegram posts to, ending in /webhooks/telegram/<name>.
	WebhookURL string `yaml:"webhook_url"`
	// WebhookSecret is sent by Telegram in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -).
	WebhookSecret string `yaml:"webhook_secret"`
	// AllowGroups: take messages from groups the bot is in (default: private chats only).
	AllowGroups bool `yaml:"allow_groups"`
}

// StaffConfig is the lead-managers' bot.
type StaffConfig struct {
	// Token of the staff bot; empty means no staff bot. It may equal the token of one of
	// bots: then that bot serves both (updates from configured managers go to the staff side).
	Token string `yaml:"token"`
}

// IsEnabled reports whether the channel is on (enabled: true).
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields of an enabled section (a disabled one is left as it is).
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.PollTimeout == 0 {
		c.PollTimeout = 25 * time.Second
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 60 * time.Second
	}
	if c.PerChatRate == 0 {
		c.PerChatRate = 1
	}
	if c.PerChatBurst == 0 {
		c.PerChatBurst = 3
	}
	if c.GlobalRate == 0 {
		c.GlobalRate = 30
	}
	for i := range c.Bots {
		if c.Bots[i].Mode == "" {
			c.Bots[i].Mode = ModePolling
		}
	}
}

// Validate checks the section; paths are relative to "channels.telegram".
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs conf.Errors
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("api_url", "must be an http(s) URL (got %q)", c.APIURL)
	}
	if c.RequestTimeout <= 0 {
		errs.Add("request_timeout", "must be positive")
	}
	if c.PollTimeout < time.Second || c.PollTimeout > 50*time.Second {
		errs.Add("poll_timeout", "must be between 1s and 50s")
	}
	if c.LeaseTTL <= c.PollTimeout+c.RequestTimeout {
		errs.Add("lease_ttl", "must be longer than poll_timeout + request_timeout (%s)", c.PollTimeout+c.RequestTimeout)
	}
	if c.PerChatRate <= 0 {
		errs.Add("per_chat_rate", "must be positive")
	}
	if c.PerChatBurst < 1 {
		errs.Add("per_chat_burst", "must be at least 1")
	}
	if c.GlobalRate <= 0 {
		errs.Add("global_rate", "must be positive")
	}
	if len(c.Bots) == 0 && c.Staff.Token == "" {
		errs.Add("bots", "at least one bot (or staff.token) is required when enabled")
	}
	names := map[string]int{}
	tokens := map[string]int{}
	for i, b := range c.Bots {
		p := fmt.Sprintf("bots[%d]", i)
		switch {
		case b.Name == "":
			errs.Add(p+".name", "is required")
		case !conf.ValidName(b.Name):
			errs.Add(p+".name", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", b.Name)
		case b.Name == StaffName:
			errs.Add(p+".name", "%q is reserved for the staff bot", b.Name)
		default:
			if j, dup := names[b.Name]; dup {
				errs.Add(p+".name", "duplicates bots[%d].name %q", j, b.Name)
			}
			names[b.Name] = i
		}
		switch {
		case b.Token == "":
			errs.Add(p+".token", "is required (set it from the environment, e.g. ${TG_BOT_TOKEN})")
		case !validToken(b.Token):
			errs.Add(p+".token", "does not look like a BotFather token (<digits>:<secret>)")
		default:
			if j, dup := tokens[b.Token]; dup {
				errs.Add(p+".token", "is the same as bots[%d].token", j)
			}
			tokens[b.Token] = i
		}
		switch b.Mode {
		case ModePolling:
		case ModeWebhook:
			if u, err := url.Parse(b.WebhookURL); err != nil || u.Scheme != "https" || u.Host == "" {
				errs.Add(p+".webhook_url", "must be an https URL in webhook mode (got %q)", b.WebhookURL)
			}
			if !validSecret(b.WebhookSecret) {
				errs.Add(p+".webhook_secret", "is required in webhook mode: 16-256 characters of A-Z, a-z, 0-9, '_' or '-'")
			}
		default:
			errs.Add(p+".mode", "must be polling or webhook (got %q)", b.Mode)
		}
	}
	if c.Staff.Token != "" && !validToken(c.Staff.Token) {
		errs.Add("staff.token", "does not look like a BotFather token (<digits>:<secret>)")
	}
	return errs.Err()
}

// SharedBot returns the name of the customer bot whose token the staff bot uses ("" if none).
func (c *Config) SharedBot() string {
	if c.Staff.Token == "" {
		return ""
	}
	for _, b := range c.Bots {
		if b.Token == c.Staff.Token {
			return b.Name
		}
	}
	return ""
}

func validToken(s string) bool {
	id, secret, ok := strings.Cut(s, ":")
	if !ok || id == "" || len(secret) < 8 || strings.ContainsAny(s, " /?#%") {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func validSecret(s string) bool {
	if len(s) < 16 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
