package vk

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

const (
	// DefaultAPIURL is the VK API base (methods are POSTed to APIURL/<method>).
	DefaultAPIURL = "https://api.vk.com/method"
	// DefaultAPIVersion is the API version the parser and the client were written for; set
	// the same version in the community's Callback API settings.
	DefaultAPIVersion = "5.199"
)

// Config is the channels.vk: section.
type Config struct {
	// Enabled turns the channel on. Absent or false: nothing runs and nothing is checked.
	Enabled bool `yaml:"enabled"`
	// APIURL is the VK API base (default https://api.vk.com/method; a test server otherwise).
	APIURL string `yaml:"api_url"`
	// APIVersion is sent as v= with every call (default 5.199). Pin it: callback and answer
	// shapes change between versions.
	APIVersion string `yaml:"api_version"`
	// Timeout bounds every API call (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes bounds a callback body (default 1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Communities are the VK communities (groups) whose messages are leads.
	Communities []Community `yaml:"communities"`
}

// Community is one VK community with the Callback API on.
type Community struct {
	// Name identifies the community in Redis keys, metrics, the callback path
	// (/webhooks/vk/<name>) and Outbound.Account.
	Name string `yaml:"name"`
	// GroupID is the community's id (group_id of every callback).
	GroupID int64 `yaml:"group_id"`
	// Token is a community access token with the "messages" right. From the environment.
	Token string `yaml:"token"`
	// Confirmation is the string the Callback API settings say the server must return.
	Confirmation string `yaml:"confirmation"`
	// Secret is the secret key set in the Callback API settings; VK sends it in every
	// callback. From the environment.
	Secret string `yaml:"secret"`
}

var versionRE = regexp.MustCompile(`^5\.[0-9]{1,3}$`)

// IsEnabled reports whether the channel is on (enabled: true).
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields of an enabled section (a disabled one is left as it is).
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	conf.Default(&c.APIURL, DefaultAPIURL)
	conf.Default(&c.APIVersion, DefaultAPIVersion)
	conf.Default(&c.Timeout, 10*time.Second)
	conf.Default(&c.MaxBodyBytes, 1<<20)
}

// Validate checks the section; paths are relative to "channels.vk". A disabled section is
// not checked.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs conf.Errors
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.Add("api_url", "must be an http(s) URL (got %q)", c.APIURL)
	}
	if !versionRE.MatchString(c.APIVersion) {
		errs.Add("api_version", "must look like 5.199 (got %q)", c.APIVersion)
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.MaxBodyBytes < 1024 {
		errs.Add("max_body_bytes", "must be at least 1024")
	}
	if len(c.Communities) == 0 {
		errs.Add("communities", "at least one community is required when enabled")
	}
	names, groups := map[string]int{}, map[int64]int{}
	for i, g := range c.Communities {
		p := fmt.Sprintf("communities[%d]", i)
		if !conf.ValidName(g.Name) {
			errs.Add(p+".name", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", g.Name)
		} else if j, dup := names[g.Name]; dup {
			errs.Add(p+".name", "duplicates communities[%d].name %q", j, g.Name)
		} else {
			names[g.Name] = i
		}
		if g.GroupID <= 0 {
			errs.Add(p+".group_id", "must be the community's positive id")
		} else if j, dup := groups[g.GroupID]; dup {
			errs.Add(p+".group_id", "duplicates communities[%d].group_id", j)
		} else {
			groups[g.GroupID] = i
		}
		if g.Token == "" {
			errs.Add(p+".token", "is required (a community access token with messages; set it from the environment, e.g. ${VK_TOKEN})")
		} else if strings.ContainsAny(g.Token, " \r\n") {
			errs.Add(p+".token", "must not contain spaces or line breaks")
		}
		if g.Confirmation == "" {
			errs.Add(p+".confirmation", "is required (the string the Callback API settings say to return)")
		}
		if g.Secret == "" {
			errs.Add(p+".secret", "is required: set a secret key in the Callback API settings (from the environment, e.g. ${VK_SECRET})")
		}
	}
	return errs.Err()
}
