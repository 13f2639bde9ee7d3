package crm

import (
	"fmt"
	"regexp"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/router"
)

// Common is the part of every connector's section they share (inlined in crm.amocrm: and
// crm.bitrix24:).
type Common struct {
	// Trigger is the timeline stage that creates the CRM record: handed_off (default) or created.
	Trigger string `yaml:"trigger"`
	// Users maps lidorub manager ids to CRM user ids (the record's responsible user).
	Users map[string]int64 `yaml:"users"`
	// DefaultUser is the CRM user for a lead whose manager is not in users (0: the CRM's default).
	DefaultUser int64 `yaml:"default_user"`
	// TitlePrefix starts every record's title: "<title_prefix> #<conversation id>" (default
	// lidorub). Keep it unique to this gateway: a lost create is looked up by this title.
	TitlePrefix string `yaml:"title_prefix"`
	// Currency of amounts the CRM gives without one (default RUB).
	Currency string `yaml:"currency"`
	// LostReason is the lidorub loss reason (one of sales.loss_reasons) recorded when the CRM
	// gives none or one loss_reasons does not map (default other).
	LostReason string `yaml:"lost_reason"`
	// TranscriptLimit is how many last transcript lines go into the note (default 200; -1: no note).
	TranscriptLimit int `yaml:"transcript_limit"`
	// Timeout bounds every API call (default 15s).
	Timeout time.Duration `yaml:"timeout"`
	// RetryInterval: an entry that failed is retried after this long (default 30s); also the
	// pause after an unauthorized answer.
	RetryInterval time.Duration `yaml:"retry_interval"`
	// MaxAttempts: a lead still not accepted after this many attempts is dead-lettered
	// (default 20000: about a week at retry_interval 30s; replayable).
	MaxAttempts int64 `yaml:"max_attempts"`
	// ReconcileInterval: how often recently changed records are read back from the CRM
	// (default 10m; negative, e.g. -1s: off).
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// ReconcileOverlap: each pass reads from the previous pass's start minus this (clock skew
	// between the CRM and us; default 2m).
	ReconcileOverlap time.Duration `yaml:"reconcile_overlap"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Defaults fills unset fields.
func (c *Common) Defaults() {
	conf.Default(&c.Trigger, router.StageHandedOff)
	conf.Default(&c.TitlePrefix, "lidorub")
	conf.Default(&c.Currency, "RUB")
	conf.Default(&c.LostReason, "other")
	conf.Default(&c.TranscriptLimit, 200)
	conf.Default(&c.Timeout, 15*time.Second)
	conf.Default(&c.RetryInterval, 30*time.Second)
	conf.Default(&c.MaxAttempts, 20000)
	conf.Default(&c.ReconcileInterval, 10*time.Minute)
	conf.Default(&c.ReconcileOverlap, 2*time.Minute)
}

// Validate checks the shared fields; paths are relative to the connector's section.
func (c *Common) Validate() error {
	var errs conf.Errors
	if c.Trigger != router.StageHandedOff && c.Trigger != router.StageCreated {
		errs.Add("trigger", "must be %s or %s (got %q)", router.StageHandedOff, router.StageCreated, c.Trigger)
	}
	for id, u := range c.Users {
		if !conf.ValidName(id) {
			errs.Add(fmt.Sprintf("users.%s", id), "must be a manager id (1-32 characters of a-z, 0-9, '_' or '-')")
		}
		if u <= 0 {
			errs.Add(fmt.Sprintf("users.%s", id), "must be a positive CRM user id (got %d)", u)
		}
	}
	if c.DefaultUser < 0 {
		errs.Add("default_user", "must be a CRM user id or 0 (got %d)", c.DefaultUser)
	}
	if c.TitlePrefix == "" || len(c.TitlePrefix) > 64 {
		errs.Add("title_prefix", "must be 1-64 characters")
	}
	if !currencyRE.MatchString(c.Currency) {
		errs.Add("currency", "must be an ISO 4217 code like RUB (got %q)", c.Currency)
	}
	if c.TranscriptLimit < -1 {
		errs.Add("transcript_limit", "must be -1 (no transcript) or positive")
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.RetryInterval < time.Second {
		errs.Add("retry_interval", "must be at least 1s")
	}
	if c.MaxAttempts < 1 {
		errs.Add("max_attempts", "must be positive")
	}
	if c.ReconcileInterval > 0 && c.ReconcileInterval < time.Minute {
		errs.Add("reconcile_interval", "must be at least 1m, or negative to turn reconciliation off")
	}
	if c.ReconcileOverlap < 0 {
		errs.Add("reconcile_overlap", "must not be negative")
	}
	return errs.Err()
}

// ValidateManagers reports users keys that are not configured managers.
func (c *Common) ValidateManagers(ids map[string]bool) error {
	var errs conf.Errors
	for id := range c.Users {
		if !ids[id] {
			errs.Add("users."+id, "no manager has id %q", id)
		}
	}
	return errs.Err()
}

// ValidateLossReasons reports a lost_reason that is not one of sales.loss_reasons (known):
// the router would refuse every lost outcome the CRM reports without a reason.
func (c *Common) ValidateLossReasons(known func(string) bool) error {
	var errs conf.Errors
	if !known(c.LostReason) {
		errs.Add("lost_reason", "must be one of sales.loss_reasons (got %q)", c.LostReason)
	}
	return errs.Err()
}

// Responsible returns the CRM user for lidorub manager id.
func (c *Common) Responsible(manager string) int64 {
	if u, ok := c.Users[manager]; ok {
		return u
	}
	return c.DefaultUser
}
