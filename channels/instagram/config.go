package instagram

import (
	"fmt"

	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
)

// Config is the channels.instagram: section.
type Config struct {
	meta.AppConfig `yaml:",inline"`
	// HumanAgent lets a manager answer up to 7 days after the customer's last message with
	// the HUMAN_AGENT tag (the app needs the Human Agent permission). Otherwise 24 hours.
	HumanAgent bool `yaml:"human_agent"`
	// AutoPrivateReply lets automatic messages (the acknowledgement, off-hours notice) use a
	// comment's one private reply. Default false: it is kept for the manager's answer.
	AutoPrivateReply bool `yaml:"auto_private_reply"`
	// Comments: comments on posts, reels and ads create leads (default true).
	Comments *bool     `yaml:"comments"`
	Accounts []Account `yaml:"accounts"`
}

// Account is one Instagram professional account.
type Account struct {
	// ID is the Instagram professional account id: entry[].id of the webhooks.
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Token is the access token used to send (a Page access token, or an Instagram User
	// access token with Instagram Login). From the environment.
	Token string `yaml:"token"`
	// SendID is the id in the send URL {graph}/{version}/{send_id}/messages (default: ID;
	// "me" or the Facebook Page id also work with a Page token).
	SendID string `yaml:"send_id"`
	// Locale is the language of the automatic messages to this account's customers (en,
	// ru); "" = locale.default.
	Locale string `yaml:"locale"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	c.AppConfig.Defaults()
	if c.Comments == nil {
		t := true
		c.Comments = &t
	}
	for i := range c.Accounts {
		if c.Accounts[i].SendID == "" {
			c.Accounts[i].SendID = c.Accounts[i].ID
		}
	}
}

// Validate checks the section; paths are relative to "channels.instagram". A disabled
// section is not checked.
func (c *Config) Validate() error {
	var errs conf.Errors
	if !c.Enabled {
		return nil
	}
	c.AppConfig.Validate(&errs, "INSTAGRAM_APP_SECRET")
	if len(c.Accounts) == 0 {
		errs.Add("accounts", "at least one account is required when enabled")
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		meta.CheckAccountID(&errs, p+".id", a.ID, " (the Instagram professional account id)", "account id", seen)
		if a.Token == "" {
			errs.Add(p+".token", "is required (set it from the environment, e.g. ${INSTAGRAM_TOKEN})")
		}
		if err := locale.CheckLang(a.Locale); err != nil {
			errs.Add(p+".locale", "%v", err)
		}
	}
	return errs.Err()
}

// Locales maps each account (Inbound.Account) to its customers' language, where set.
func (c *Config) Locales() map[string]string {
	m := map[string]string{}
	for _, a := range c.Accounts {
		if a.Locale != "" {
			m[a.ID] = a.Locale
		}
	}
	return m
}
