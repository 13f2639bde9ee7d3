package router

import (
	"fmt"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
)

// Sales strategies (sales.strategy); the rules are in package ledger's doc.
const (
	SalesRoundRobin     = "round_robin"
	SalesLeastLoaded    = "least_loaded"
	SalesBestConversion = "best_conversion"
	SalesWeighted       = "weighted"
)

// SalesConfig is the sales: section (the second tier). See README "The sales tier".
type SalesConfig struct {
	// HandoffLevels: qualification levels that hand a lead off to sales (hot, warm).
	HandoffLevels []string `yaml:"handoff_levels"`
	// Strategy: round_robin | least_loaded | best_conversion | weighted.
	Strategy string `yaml:"strategy"`
	// AcceptTimeout: an offer not accepted within it goes to the next sales manager.
	AcceptTimeout time.Duration `yaml:"accept_timeout"`
	// FirstContact: after acceptance the customer must be contacted within it, else the lead is
	// re-offered (a contact breach).
	FirstContact time.Duration `yaml:"first_contact"`
	// MaxOffers: after this many sales offers of one lead the supervisors are told (escalation).
	MaxOffers int `yaml:"max_offers"`
	// ConversionWindow: best_conversion counts accepted and won leads over this window.
	ConversionWindow time.Duration `yaml:"conversion_window"`
	// ConversionPrior: best_conversion's prior (won of leads) added to every manager's counts.
	ConversionPrior ConversionPrior `yaml:"conversion_prior"`
	// ConversionFloor: best_conversion's minimum score in thousandths (a new or unlucky
	// manager still receives leads).
	ConversionFloor int `yaml:"conversion_floor"`
	// StaleAfter: a handed-off lead without an outcome after this long is reported stale.
	StaleAfter time.Duration `yaml:"stale_after"`
	// Currency: the default currency of won amounts (ISO 4217).
	Currency string `yaml:"currency"`
	// AllowManualPick: supervisors may hand a lead to a chosen sales manager.
	AllowManualPick bool `yaml:"allow_manual_pick"`
	// RejectionReasons: why a sales manager may reject a lead; not_a_lead ones send it back to
	// the lead-manager who qualified it.
	RejectionReasons []SalesReason `yaml:"rejection_reasons"`
	// LossReasons: why a deal was lost.
	LossReasons []SalesReason `yaml:"loss_reasons"`
}

// ConversionPrior is best_conversion's prior: Won of Leads.
type ConversionPrior struct {
	Won   int `yaml:"won"`
	Leads int `yaml:"leads"`
}

// SalesReason is a configured rejection or loss reason. Text overrides the catalogue's
// sales.reason.<id>.label per language.
type SalesReason struct {
	ID       string            `yaml:"id"`
	NotALead bool              `yaml:"not_a_lead"`
	Text     map[string]string `yaml:"text"`
}

// Default reason ids (texts in the locale catalogue under sales.reason.<id>.label).
var (
	defaultRejectionReasons = []SalesReason{{ID: "not_our_region"}, {ID: "duplicate"}, {ID: "not_enough_info"},
		{ID: "not_a_real_lead", NotALead: true}}
	defaultLossReasons = []SalesReason{{ID: "price"}, {ID: "no_answer"}, {ID: "competitor"}, {ID: "changed_mind"}, {ID: "other"}}
)

// Defaults fills unset fields.
func (c *SalesConfig) Defaults() {
	if len(c.HandoffLevels) == 0 {
		c.HandoffLevels = []string{QualHot}
	}
	conf.Default(&c.Strategy, SalesRoundRobin)
	conf.Default(&c.AcceptTimeout, 10*time.Minute)
	conf.Default(&c.FirstContact, time.Hour)
	conf.Default(&c.MaxOffers, 3)
	conf.Default(&c.ConversionWindow, 720*time.Hour)
	if c.ConversionPrior == (ConversionPrior{}) {
		c.ConversionPrior = ConversionPrior{Won: 1, Leads: 4}
	}
	conf.Default(&c.ConversionFloor, 100)
	conf.Default(&c.StaleAfter, 336*time.Hour)
	conf.Default(&c.Currency, "RUB")
	if len(c.RejectionReasons) == 0 {
		c.RejectionReasons = append([]SalesReason(nil), defaultRejectionReasons...)
	}
	if len(c.LossReasons) == 0 {
		c.LossReasons = append([]SalesReason(nil), defaultLossReasons...)
	}
}

// Validate checks the section; paths are relative to "sales".
func (c *SalesConfig) Validate() error {
	var errs conf.Errors
	seen := map[string]bool{}
	for i, l := range c.HandoffLevels {
		if l != QualHot && l != QualWarm {
			errs.Add(fmt.Sprintf("handoff_levels[%d]", i), "must be hot or warm (got %q)", l)
		}
		if seen[l] {
			errs.Add(fmt.Sprintf("handoff_levels[%d]", i), "duplicates %q", l)
		}
		seen[l] = true
	}
	switch c.Strategy {
	case SalesRoundRobin, SalesLeastLoaded, SalesBestConversion, SalesWeighted:
	default:
		errs.Add("strategy", "must be one of round_robin, least_loaded, best_conversion, weighted (got %q)", c.Strategy)
	}
	for path, d := range map[string]time.Duration{"accept_timeout": c.AcceptTimeout, "first_contact": c.FirstContact,
		"conversion_window": c.ConversionWindow, "stale_after": c.StaleAfter} {
		if d <= 0 {
			errs.Add(path, "must be positive")
		}
	}
	if c.MaxOffers < 1 {
		errs.Add("max_offers", "must be at least 1")
	}
	if c.ConversionPrior.Won < 0 || c.ConversionPrior.Leads < 1 || c.ConversionPrior.Won > c.ConversionPrior.Leads {
		errs.Add("conversion_prior", "needs 0 <= won <= leads and leads >= 1")
	}
	if c.ConversionFloor < 1 || c.ConversionFloor > 1000 {
		errs.Add("conversion_floor", "must be between 1 and 1000 (thousandths)")
	}
	if len(c.Currency) != 3 {
		errs.Add("currency", "must be a 3-letter ISO 4217 code (got %q)", c.Currency)
	}
	reasons := func(path string, rs []SalesReason, notALead bool) {
		ids := map[string]int{}
		for i, r := range rs {
			p := fmt.Sprintf("%s[%d]", path, i)
			if !conf.ValidName(r.ID) {
				errs.Add(p+".id", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", r.ID)
			} else if j, dup := ids[r.ID]; dup {
				errs.Add(p+".id", "duplicates %s[%d].id %q", path, j, r.ID)
			}
			ids[r.ID] = i
			if r.NotALead && !notALead {
				errs.Add(p+".not_a_lead", "applies to rejection reasons only")
			}
			for lang := range r.Text {
				if err := locale.CheckLang(lang); err != nil {
					errs.Add(p+".text."+lang, "%v", err)
				}
			}
		}
	}
	reasons("rejection_reasons", c.RejectionReasons, true)
	reasons("loss_reasons", c.LossReasons, false)
	return errs.Err()
}

// handsOff reports whether a qualification level hands the lead off to sales.
func (c *SalesConfig) handsOff(level string) bool {
	for _, l := range c.HandoffLevels {
		if l == level {
			return true
		}
	}
	return false
}

// rejection returns a configured rejection reason.
func (c *SalesConfig) rejection(id string) (SalesReason, bool) {
	for _, r := range c.RejectionReasons {
		if r.ID == id {
			return r, true
		}
	}
	return SalesReason{}, false
}

func (c *SalesConfig) loss(id string) bool {
	for _, r := range c.LossReasons {
		if r.ID == id {
			return true
		}
	}
	return false
}

// ReasonText is a reason's text for a reader's language: the configured text, else the
// catalogue's sales.reason.<id>.label, else the id.
func ReasonText(cat *locale.Catalogue, r SalesReason, lang string) string {
	if t := r.Text[lang]; t != "" {
		return t
	}
	if cat != nil && cat.Has("sales.reason."+r.ID+".label") {
		return cat.T(lang, "sales.reason."+r.ID+".label")
	}
	return r.ID
}
