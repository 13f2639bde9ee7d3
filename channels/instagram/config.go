package instagram

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/internal/conf"
)

// Config is the channels.instagram: section.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// AppSecret signs webhook deliveries (X-Hub-Signature-256). From the environment.
	AppSecret string `yaml:"app_secret"`
	// VerifyToken is the string you type into the Meta app's webhook settings.
	VerifyToken string `yaml:"verify_token"`
	// GraphURL is the Graph API base: https://graph.facebook.com (Instagram via a Facebook
	// Page) or https://graph.instagram.com (Instagram API with Instagram Login).
	GraphURL     string        `yaml:"graph_url"`
	GraphVersion string        `yaml:"graph_version"`
	Timeout      time.Duration `yaml:"timeout"`
	MaxBodyBytes int64         `yaml:"max_body_bytes"`
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
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.GraphURL == "" {
		c.GraphURL = meta.DefaultGraphURL
	}
	if c.GraphVersion == "" {
		c.GraphVersion = meta.DefaultGraphVersion
	}
	if c.Timeout == 0 {
		c.Timeout = meta.DefaultTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = meta.DefaultMaxBody
	}
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
	if c.AppSecret == "" {
		errs.Add("app_secret", "is required (set it from the environment, e.g. ${INSTAGRAM_APP_SECRET})")
	}
	if c.VerifyToken == "" {
		errs.Add("verify_token", "is required")
	}
	if u, err := url.Parse(c.GraphURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.Add("graph_url", "must be an http(s) URL")
	}
	if !strings.HasPrefix(c.GraphVersion, "v") {
		errs.Add("graph_version", "must look like v21.0 (got %q)", c.GraphVersion)
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.MaxBodyBytes < 1024 {
		errs.Add("max_body_bytes", "must be at least 1024")
	}
	if len(c.Accounts) == 0 {
		errs.Add("accounts", "at least one account is required when enabled")
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		switch {
		case a.ID == "":
			errs.Add(p+".id", "is required (the Instagram professional account id)")
		case seen[a.ID]:
			errs.Add(p+".id", "duplicate account id %q", a.ID)
		case strings.ContainsAny(a.ID, "{}: "):
			errs.Add(p+".id", "must not contain '{', '}', ':' or spaces")
		}
		seen[a.ID] = true
		if a.Token == "" {
			errs.Add(p+".token", "is required (set it from the environment, e.g. ${INSTAGRAM_TOKEN})")
		}
	}
	return errs.Err()
}
