package bitrix24

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/internal/conf"
)

// Config is the crm.bitrix24: section.
type Config struct {
	// Enabled turns the connector on. Absent or false: nothing runs and nothing is checked.
	Enabled    bool `yaml:"enabled"`
	crm.Common `yaml:",inline"`
	// WebhookURL is the portal's incoming webhook (Developer resources → Other → Incoming
	// webhook, scope crm): https://<portal>.bitrix24.ru/rest/<user>/<code>/. It holds a secret:
	// from the environment.
	WebhookURL string `yaml:"webhook_url"`
	// ApplicationToken is the token of the outbound webhook (ONCRMDEALUPDATE) that Bitrix24
	// shows when it is created; every event carries it in auth[application_token]. From the
	// environment.
	ApplicationToken string `yaml:"application_token"`
	// Entity is what a lead becomes: deal (default: a contact and a deal; outcomes come back
	// from the deal's stage) or lead (a CRM lead; only its failure comes back as lost).
	Entity string `yaml:"entity"`
	// CategoryID is the deal pipeline (0: the general one); StageID the deal's first stage
	// ("": the pipeline's first). Deals only.
	CategoryID int64  `yaml:"category_id"`
	StageID    string `yaml:"stage_id"`
	// SourceID is the record's SOURCE_ID (default WEB; see crm.status.list ENTITY_ID SOURCE).
	SourceID string `yaml:"source_id"`
	// ValueType is the VALUE_TYPE of the phone and e-mail (default WORK).
	ValueType string `yaml:"value_type"`
	// MaxBodyBytes bounds an inbound event body (default 64 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

var (
	codeRE  = regexp.MustCompile(`^[A-Z0-9_:]{1,50}$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9]{8,128}$`)
)

// IsEnabled reports whether the connector is on.
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields of an enabled section.
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	c.Common.Defaults()
	conf.Default(&c.Entity, "deal")
	conf.Default(&c.SourceID, "WEB")
	conf.Default(&c.ValueType, "WORK")
	conf.Default(&c.MaxBodyBytes, 64<<10)
	if c.WebhookURL != "" && !strings.HasSuffix(c.WebhookURL, "/") {
		c.WebhookURL += "/"
	}
}

// Validate checks the section; paths are relative to "crm.bitrix24".
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs conf.Errors
	errs.Merge("", c.Common.Validate())
	if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.Contains(u.Path, "/rest/") {
		errs.Add("webhook_url", "must be the incoming webhook like https://example.bitrix24.ru/rest/1/<code>/ (from the environment, e.g. ${BITRIX24_WEBHOOK_URL})")
	}
	if !tokenRE.MatchString(c.ApplicationToken) {
		errs.Add("application_token", "is required: the outbound webhook's application token, 8-128 letters and digits (from the environment, e.g. ${BITRIX24_APPLICATION_TOKEN})")
	}
	if c.Entity != "deal" && c.Entity != "lead" {
		errs.Add("entity", "must be deal or lead (got %q)", c.Entity)
	}
	if c.CategoryID < 0 {
		errs.Add("category_id", "must be a deal pipeline id or 0")
	}
	if c.StageID != "" && !codeRE.MatchString(c.StageID) {
		errs.Add("stage_id", "must be a stage id like NEW or C2:NEW (got %q)", c.StageID)
	}
	if (c.CategoryID != 0 || c.StageID != "") && c.Entity == "lead" {
		errs.Add("entity", "is lead: category_id and stage_id apply to deals only")
	}
	if !codeRE.MatchString(c.SourceID) {
		errs.Add("source_id", "must be a source id like WEB or CALL (got %q)", c.SourceID)
	}
	if !codeRE.MatchString(c.ValueType) {
		errs.Add("value_type", "must be WORK, HOME, MOBILE, OTHER... (got %q)", c.ValueType)
	}
	if c.MaxBodyBytes < 1024 {
		errs.Add("max_body_bytes", "must be at least 1024")
	}
	return errs.Err()
}
