package amocrm

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/internal/conf"
)

// Config is the crm.amocrm: section.
type Config struct {
	// Enabled turns the connector on. Absent or false: nothing runs and nothing is checked.
	Enabled    bool `yaml:"enabled"`
	crm.Common `yaml:",inline"`
	// BaseURL is the account's address: https://<subdomain>.amocrm.ru (Kommo: https://<subdomain>.kommo.com).
	BaseURL string `yaml:"base_url"`
	// Token is a long-lived token of a private integration (Bearer). From the environment.
	Token string `yaml:"token"`
	// WebhookSecret is the path token of the inbound webhook: amoCRM calls
	// /webhooks/amocrm/<webhook_secret> (it does not sign its webhooks). At least 16
	// characters of A-Z a-z 0-9 _ -. From the environment.
	WebhookSecret string `yaml:"webhook_secret"`
	// Unsorted lands leads in "Неразобранное" (POST /api/v4/leads/unsorted/forms) instead of
	// creating them directly (POST /api/v4/leads/complex).
	Unsorted bool `yaml:"unsorted"`
	// PipelineID and StatusID place the new lead (0: the account's main pipeline and its first
	// status). StatusID needs PipelineID and is not used with unsorted.
	PipelineID int64 `yaml:"pipeline_id"`
	StatusID   int64 `yaml:"status_id"`
	// Tags are added to every lead.
	Tags []string `yaml:"tags"`
	// Fields are the ids of the lead's custom fields that receive the source, the channel,
	// the qualification level and the UTM tags (0: not sent).
	Fields Fields `yaml:"fields"`
	// PhoneEnum and EmailEnum are the enum codes of the contact's PHONE and EMAIL values (default WORK).
	PhoneEnum string `yaml:"phone_enum"`
	EmailEnum string `yaml:"email_enum"`
	// LossReasons maps amoCRM loss reason ids to lidorub loss reason ids. When set, a lost lead's
	// reason is read back (GET /api/v4/leads/{id}?with=loss_reason); an unmapped one gives lost_reason.
	LossReasons map[string]string `yaml:"loss_reasons"`
	// MaxBodyBytes bounds an inbound webhook body (default 1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Fields are lead custom field ids.
type Fields struct {
	Source        int64 `yaml:"source"`
	Channel       int64 `yaml:"channel"`
	Qualification int64 `yaml:"qualification"`
	UTMSource     int64 `yaml:"utm_source"`
	UTMMedium     int64 `yaml:"utm_medium"`
	UTMCampaign   int64 `yaml:"utm_campaign"`
	UTMContent    int64 `yaml:"utm_content"`
	UTMTerm       int64 `yaml:"utm_term"`
}

var (
	secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)
	enumRE   = regexp.MustCompile(`^[A-Z]{2,16}$`)
)

// IsEnabled reports whether the connector is on.
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields of an enabled section.
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	c.Common.Defaults()
	conf.Default(&c.PhoneEnum, "WORK")
	conf.Default(&c.EmailEnum, "WORK")
	conf.Default(&c.MaxBodyBytes, 1<<20)
}

// Validate checks the section; paths are relative to "crm.amocrm".
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs conf.Errors
	errs.Merge("", c.Common.Validate())
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		errs.Add("base_url", "must be the account's address like https://example.amocrm.ru (got %q)", c.BaseURL)
	}
	if c.Token == "" {
		errs.Add("token", "is required (a long-lived token; set it from the environment, e.g. ${AMOCRM_TOKEN})")
	} else if strings.ContainsAny(c.Token, " \r\n") {
		errs.Add("token", "must not contain spaces or line breaks")
	}
	if !secretRE.MatchString(c.WebhookSecret) {
		errs.Add("webhook_secret", "must be 16-128 characters of A-Z, a-z, 0-9, '_' or '-' (from the environment, e.g. ${AMOCRM_WEBHOOK_SECRET})")
	}
	if c.PipelineID < 0 {
		errs.Add("pipeline_id", "must be an amoCRM pipeline id or 0")
	}
	if c.StatusID < 0 || (c.StatusID > 0 && c.PipelineID == 0) {
		errs.Add("status_id", "must be 0 or a status id of pipeline_id (which must be set)")
	}
	if c.StatusID > 0 && c.Unsorted {
		errs.Add("status_id", "is not used with unsorted: true (the lead lands in the pipeline's unsorted stage)")
	}
	for i, t := range c.Tags {
		if strings.TrimSpace(t) == "" || len(t) > 100 {
			errs.Add(fmt.Sprintf("tags[%d]", i), "must be 1-100 characters")
		}
	}
	for path, id := range map[string]int64{"fields.source": c.Fields.Source, "fields.channel": c.Fields.Channel,
		"fields.qualification": c.Fields.Qualification, "fields.utm_source": c.Fields.UTMSource,
		"fields.utm_medium": c.Fields.UTMMedium, "fields.utm_campaign": c.Fields.UTMCampaign,
		"fields.utm_content": c.Fields.UTMContent, "fields.utm_term": c.Fields.UTMTerm} {
		if id < 0 {
			errs.Add(path, "must be a custom field id or 0")
		}
	}
	if !enumRE.MatchString(c.PhoneEnum) {
		errs.Add("phone_enum", "must be an enum code like WORK or MOB (got %q)", c.PhoneEnum)
	}
	if !enumRE.MatchString(c.EmailEnum) {
		errs.Add("email_enum", "must be an enum code like WORK or PRIV (got %q)", c.EmailEnum)
	}
	for k, v := range c.LossReasons {
		if n, err := strconv.ParseInt(k, 10, 64); err != nil || n <= 0 {
			errs.Add("loss_reasons."+k, "the key must be an amoCRM loss reason id")
		}
		if v == "" {
			errs.Add("loss_reasons."+k, "must name a lidorub loss reason")
		}
	}
	if c.MaxBodyBytes < 1024 {
		errs.Add("max_body_bytes", "must be at least 1024")
	}
	return errs.Err()
}

// ValidateLossReasons reports a lost_reason or a loss_reasons value that is not one of
// sales.loss_reasons (known).
func (c *Config) ValidateLossReasons(known func(string) bool) error {
	var errs conf.Errors
	errs.Merge("", c.Common.ValidateLossReasons(known))
	for k, v := range c.LossReasons {
		if !known(v) {
			errs.Add("loss_reasons."+k, "must be one of sales.loss_reasons (got %q)", v)
		}
	}
	return errs.Err()
}
