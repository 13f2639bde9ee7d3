package whatsappcloud

import (
	"fmt"

	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
)

// Config is the channels.whatsappcloud: section.
type Config struct {
	meta.AppConfig `yaml:",inline"`
	// Template is the approved message template sent instead of a reply outside the 24-hour
	// customer-service window (to invite the customer back). Empty: such replies are refused.
	// An account may override it.
	Template Template  `yaml:"template"`
	Accounts []Account `yaml:"accounts"`
	// AllowGroups takes messages written in WhatsApp groups the number is in (default: they
	// are ignored). The group is then the contact and replies go to the group.
	AllowGroups bool `yaml:"allow_groups"`
}

// Template names an approved WhatsApp message template without parameters.
type Template struct {
	Name     string `yaml:"name"`
	Language string `yaml:"language"` // e.g. en_US, ru
}

// Account is one business phone number.
type Account struct {
	// PhoneNumberID is the Cloud API phone number id (metadata.phone_number_id of webhooks,
	// and the sender in {graph}/{version}/{phone_number_id}/messages).
	PhoneNumberID string `yaml:"phone_number_id"`
	Name          string `yaml:"name"`
	// Token is a System User access token with whatsapp_business_messaging. From the environment.
	Token    string    `yaml:"token"`
	Template *Template `yaml:"template"`
	// Locale is the language of the automatic messages to this account's customers (en,
	// ru); "" = locale.default.
	Locale string `yaml:"locale"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	c.AppConfig.Defaults()
	for i := range c.Accounts {
		if c.Accounts[i].Template == nil {
			t := c.Template
			c.Accounts[i].Template = &t
		}
	}
}

// Validate checks the section; paths are relative to "channels.whatsappcloud". A disabled
// section is not checked.
func (c *Config) Validate() error {
	var errs conf.Errors
	if !c.Enabled {
		return nil
	}
	c.AppConfig.Validate(&errs, "WHATSAPP_APP_SECRET")
	validateTemplate(&errs, "template", c.Template)
	if len(c.Accounts) == 0 {
		errs.Add("accounts", "at least one account is required when enabled")
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		meta.CheckAccountID(&errs, p+".phone_number_id", a.PhoneNumberID, "", "phone number id", seen)
		if a.Token == "" {
			errs.Add(p+".token", "is required (set it from the environment, e.g. ${WHATSAPP_TOKEN})")
		}
		if a.Template != nil && *a.Template != c.Template {
			validateTemplate(&errs, p+".template", *a.Template)
		}
		if err := locale.CheckLang(a.Locale); err != nil {
			errs.Add(p+".locale", "%v", err)
		}
	}
	return errs.Err()
}

// Locales maps each account (Inbound.Account: the phone number id) to its customers'
// language, where set.
func (c *Config) Locales() map[string]string {
	m := map[string]string{}
	for _, a := range c.Accounts {
		if a.Locale != "" {
			m[a.PhoneNumberID] = a.Locale
		}
	}
	return m
}

func validateTemplate(errs *conf.Errors, path string, t Template) {
	if t.Name != "" && t.Language == "" {
		errs.Add(path+".language", "is required with a template name (e.g. en_US)")
	}
	if t.Name == "" && t.Language != "" {
		errs.Add(path+".name", "is required with a template language")
	}
}
