// Package config is the gateway's configuration file: the top-level structure that gathers
// every package's own section, strict YAML loading with ${ENV} expansion, defaults, and
// validation whose every error names the YAML path.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/calls"
	"github.com/lidorub/lidorub/channels/email"
	"github.com/lidorub/lidorub/channels/instagram"
	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/channels/viber"
	"github.com/lidorub/lidorub/channels/vk"
	"github.com/lidorub/lidorub/channels/webchat"
	"github.com/lidorub/lidorub/channels/webform"
	"github.com/lidorub/lidorub/channels/whatsapp"
	"github.com/lidorub/lidorub/channels/whatsappcloud"
	"github.com/lidorub/lidorub/console"
	"github.com/lidorub/lidorub/crm/amocrm"
	"github.com/lidorub/lidorub/crm/bitrix24"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
	"github.com/lidorub/lidorub/webhooks"
)

// Config is the whole file.
type Config struct {
	// InstanceID names this process in stream consumer groups (default host-pid). Give each
	// replica a stable one to have it pick up its own pending work first after a restart.
	InstanceID string             `yaml:"instance_id"`
	Log        LogConfig          `yaml:"log"`
	HTTP       HTTPConfig         `yaml:"http"`
	Redis      store.Config       `yaml:"redis"`
	Router     router.Config      `yaml:"router"`
	Managers   []router.Manager   `yaml:"managers"`
	Sales      router.SalesConfig `yaml:"sales"`
	Templates  router.Templates   `yaml:"templates"` // older: overrides of customer.* in locale.default
	Locale     locale.Config      `yaml:"locale"`
	Qualify    qualify.Config     `yaml:"qualify"`
	Channels   Channels           `yaml:"channels"`
	// Webhooks are the outbound event webhooks (Standard Webhooks), README "Event webhooks".
	Webhooks webhooks.Config `yaml:"webhooks"`
	Console  console.Config  `yaml:"console"`
	CRM      CRM             `yaml:"crm"`
}

// CRM is the crm: section: one sub-section per CRM connector (packages crm/amocrm and
// crm/bitrix24), each off unless enabled.
type CRM struct {
	AmoCRM   amocrm.Config   `yaml:"amocrm"`
	Bitrix24 bitrix24.Config `yaml:"bitrix24"`
}

// Channels gathers every channel's section, one field per channel (its YAML key is the
// channel's name). Each channel package owns its Config, which has Defaults() and
// Validate() error; Defaults and Validate below reach every field through Sections, so a
// new channel adds its field here and nothing else in this package.
type Channels struct {
	Form          webform.Config       `yaml:"form"`
	Instagram     instagram.Config     `yaml:"instagram"`
	WhatsAppCloud whatsappcloud.Config `yaml:"whatsappcloud"`
	WhatsApp      whatsapp.Config      `yaml:"whatsapp"`
	Telegram      telegram.Config      `yaml:"telegram"`
	Calls         calls.Config         `yaml:"calls"`
	Email         email.Config         `yaml:"email"`
	Viber         viber.Config         `yaml:"viber"`
	VK            vk.Config            `yaml:"vk"`
	WebChat       webchat.Config       `yaml:"webchat"`
}

// Section is what every channel's config section provides.
type Section interface {
	Defaults()
	Validate() error
}

// NamedSection is one channel's section and its YAML key under channels:.
type NamedSection struct {
	Key    string
	Config Section
}

// Sections lists the channel sections in field order, each a pointer into c.
func (c *Channels) Sections() []NamedSection {
	v := reflect.ValueOf(c).Elem()
	out := make([]NamedSection, 0, v.NumField())
	for i := range v.NumField() {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		s, ok := v.Field(i).Addr().Interface().(Section)
		if !ok {
			panic(fmt.Sprintf("config: channels.%s has no Defaults() and Validate() error", key))
		}
		out = append(out, NamedSection{Key: key, Config: s})
	}
	return out
}

// Locales maps "channel/account" to the language of that account's customers, for the
// accounts whose section sets one (a section with a Locales() method).
func (c *Channels) Locales() map[string]string {
	out := map[string]string{}
	for _, s := range c.Sections() {
		l, ok := s.Config.(interface{ Locales() map[string]string })
		if !ok {
			continue
		}
		for account, lang := range l.Locales() {
			out[s.Key+"/"+account] = lang
		}
	}
	return out
}

// LogConfig is the log: section.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// HTTPConfig is the http: section: the one server for webhooks, the agent API and metrics.
type HTTPConfig struct {
	Listen            string        `yaml:"listen"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
}

// Defaults fills every unset field of every section.
func (c *Config) Defaults() {
	if c.InstanceID == "" {
		h, _ := os.Hostname()
		if h == "" {
			h = "lidorub"
		}
		c.InstanceID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	h := &c.HTTP
	if h.Listen == "" {
		h.Listen = "127.0.0.1:8080"
	}
	if h.ReadTimeout == 0 {
		h.ReadTimeout = 10 * time.Second
	}
	if h.ReadHeaderTimeout == 0 {
		h.ReadHeaderTimeout = 5 * time.Second
	}
	if h.WriteTimeout == 0 {
		h.WriteTimeout = 30 * time.Second
	}
	if h.IdleTimeout == 0 {
		h.IdleTimeout = 120 * time.Second
	}
	if h.ShutdownTimeout == 0 {
		h.ShutdownTimeout = 20 * time.Second
	}
	if h.MaxBodyBytes == 0 {
		h.MaxBodyBytes = 4 << 20
	}
	c.Redis.Defaults()
	c.Router.Defaults()
	c.Sales.Defaults()
	router.ManagersDefaults(c.Managers)
	c.Locale.Defaults()
	c.Templates.Adopt(&c.Locale)
	c.Qualify.Defaults()
	c.Console.Defaults()
	for _, s := range c.Channels.Sections() {
		s.Config.Defaults()
	}
	c.Webhooks.Defaults()
	c.CRM.AmoCRM.Defaults()
	c.CRM.Bitrix24.Defaults()
}

// Validate checks every section and returns all errors, each naming its YAML path.
func (c *Config) Validate() error {
	var errs conf.Errors
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		errs.Add("log.level", "must be debug, info, warn or error (got %q)", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs.Add("log.format", "must be text or json (got %q)", c.Log.Format)
	}
	if c.HTTP.Listen == "" || !strings.Contains(c.HTTP.Listen, ":") {
		errs.Add("http.listen", "must be host:port or :port (got %q)", c.HTTP.Listen)
	}
	c.validateExposure(&errs)
	for path, d := range map[string]time.Duration{
		"http.read_timeout": c.HTTP.ReadTimeout, "http.read_header_timeout": c.HTTP.ReadHeaderTimeout,
		"http.write_timeout": c.HTTP.WriteTimeout, "http.idle_timeout": c.HTTP.IdleTimeout,
		"http.shutdown_timeout": c.HTTP.ShutdownTimeout,
	} {
		if d <= 0 {
			errs.Add(path, "must be positive")
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		errs.Add("http.max_body_bytes", "must be at least 1024")
	}
	errs.Merge("redis", c.Redis.Validate())
	errs.Merge("router", c.Router.Validate())
	errs.Merge("sales", c.Sales.Validate())
	errs.Merge("managers", router.ValidateManagers(c.Managers))
	errs.Merge("qualify", c.Qualify.Validate())
	errs.Merge("locale", c.Locale.Validate())
	errs.Merge("webhooks", c.Webhooks.Validate())
	errs.Merge("console", c.Console.Validate())
	var channelNames []string
	for _, s := range c.Channels.Sections() {
		errs.Merge("channels."+s.Key, s.Config.Validate())
		if s.Key != channels.Form {
			channelNames = append(channelNames, s.Key)
		}
	}
	for i, ch := range c.Router.PreChat.Channels {
		if ch != channels.Form && !slices.Contains(channelNames, ch) {
			errs.Add(fmt.Sprintf("router.prechat.channels[%d]", i), "must be one of %s (got %q)", strings.Join(channelNames, ", "), ch)
		}
	}
	if tg := c.Channels.Telegram; tg.Enabled && tg.Staff.Token != "" {
		n := 0
		for _, m := range c.Managers {
			if m.TelegramID != 0 {
				n++
			}
		}
		if n == 0 {
			errs.Add("channels.telegram.staff.token", "is set but no manager has a telegram_id: the staff bot would serve nobody")
		}
	}
	ids := map[string]bool{}
	for _, m := range c.Managers {
		ids[m.ID] = true
	}
	for i, id := range c.Router.Escalation.Managers {
		if !ids[id] {
			errs.Add(fmt.Sprintf("router.escalation.managers[%d]", i), "no manager has id %q", id)
		}
	}
	loss := func(id string) bool {
		return slices.ContainsFunc(c.Sales.LossReasons, func(r router.SalesReason) bool { return r.ID == id })
	}
	errs.Merge("crm.amocrm", c.CRM.AmoCRM.Validate())
	if c.CRM.AmoCRM.Enabled {
		errs.Merge("crm.amocrm", c.CRM.AmoCRM.ValidateManagers(ids))
		errs.Merge("crm.amocrm", c.CRM.AmoCRM.ValidateLossReasons(loss))
	}
	errs.Merge("crm.bitrix24", c.CRM.Bitrix24.Validate())
	if c.CRM.Bitrix24.Enabled {
		errs.Merge("crm.bitrix24", c.CRM.Bitrix24.ValidateManagers(ids))
		errs.Merge("crm.bitrix24", c.CRM.Bitrix24.ValidateLossReasons(loss))
	}
	return sortErrors(errs.Err())
}

// LogLevel returns the slog level.
func (c *Config) LogLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Log.Level))
	return l
}
