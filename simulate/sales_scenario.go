package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/router"
)

// SalesTier is the scenario's sales: section, the second tier: sales managers who are
// offered the leads lead-managers hand off (hot, and warm when sales.handoff_levels says so),
// accept or reject them, contact the customer and win or lose the deal. Without the section
// only the first tier is simulated (hot leads are qualified and closed).
type SalesTier struct {
	// Behaviour of every sales manager, unless a roster entry overrides a field.
	Behaviour SalesBehaviour `yaml:"behaviour"`
	// Roster: the sales managers; empty: the config's managers with role: sales (their
	// capacity, weight and shifts).
	Roster []SalesMember `yaml:"roster"`
	// Router overrides the config's sales: section.
	Router SalesOverride `yaml:"router"`
}

// SalesMember is one sales roster entry (count identical ones: id-1, id-2, ...).
type SalesMember struct {
	ID        string         `yaml:"id"`
	Count     int            `yaml:"count"`    // default 1
	Capacity  int            `yaml:"capacity"` // open handed-off leads, default 5
	Weight    int            `yaml:"weight"`   // sales.strategy weighted, default 1
	Shifts    []router.Shift `yaml:"shifts"`
	Breaks    []router.Shift `yaml:"breaks"`
	Behaviour SalesBehaviour `yaml:"behaviour"`
}

// SalesBehaviour is how a sales manager reacts to an offered lead.
type SalesBehaviour struct {
	// Accept: from the offer to accepting it (or rejecting it).
	Accept Dist `yaml:"accept"`
	// Lapse: probability of never reacting to an offer (it lapses after accept_timeout).
	Lapse *float64 `yaml:"lapse"`
	// Reject: probability of rejecting an offer, with a reason drawn from reasons.
	Reject *float64 `yaml:"reject"`
	// Reasons: the mix of rejection reasons (ids of the config's sales.rejection_reasons, a
	// "not a lead" one sends the lead back to its lead-manager); default: all equally.
	Reasons map[string]float64 `yaml:"reasons"`
	// Contact: from accepting to the first contact with the customer.
	Contact Dist `yaml:"contact"`
	// Outcome: from the first contact to recording won or lost.
	Outcome Dist `yaml:"outcome"`
	// WinRate: share of contacted leads won.
	WinRate *float64 `yaml:"win_rate"`
	// Amount of a won deal.
	Amount Amount `yaml:"amount"`
}

// SalesOverride changes the config's sales: section for the simulation.
type SalesOverride struct {
	Strategy      string        `yaml:"strategy"`
	AcceptTimeout time.Duration `yaml:"accept_timeout"`
	FirstContact  time.Duration `yaml:"first_contact"`
	MaxOffers     int           `yaml:"max_offers"`
	HandoffLevels []string      `yaml:"handoff_levels"`
}

// Amount is a distribution of money amounts: a number (always that much) or {median: 50000,
// spread: 2} (lognormal).
type Amount struct {
	Median float64 `yaml:"median"`
	Spread float64 `yaml:"spread"`
}

// IsSet reports whether the amount was given.
func (a Amount) IsSet() bool { return a.Median != 0 || a.Spread != 0 }

// UnmarshalYAML reads a number or a {median, spread} mapping.
func (a *Amount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var v float64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %q is not an amount (a number or {median, spread})", n.Line, n.Value)
		}
		*a = Amount{Median: v, Spread: 1}
		return nil
	}
	type plain Amount
	var p plain
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a number or a {median, spread} mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k != "median" && k != "spread" {
			return fmt.Errorf("line %d: unknown key %q (want median and spread)", n.Content[i].Line, k)
		}
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	if p.Spread == 0 {
		p.Spread = 1
	}
	*a = Amount(p)
	return nil
}

// Sample draws one amount (rounded to a whole unit).
func (a Amount) Sample(r *rand.Rand) float64 {
	return math.Round(a.Median * math.Exp(math.Log(a.Spread)*r.NormFloat64()))
}

func (a Amount) validate() error {
	if a.Median < 0 || a.Spread < 1 {
		return fmt.Errorf("needs median >= 0 and spread >= 1")
	}
	return nil
}

func (t *SalesTier) defaults() {
	b := &t.Behaviour
	if !b.Accept.IsSet() {
		b.Accept = Lognormal(3*time.Minute, 2)
	}
	zero := func(p **float64, v float64) {
		if *p == nil {
			*p = &v
		}
	}
	zero(&b.Lapse, 0)
	zero(&b.Reject, 0)
	zero(&b.WinRate, 0.3)
	if !b.Contact.IsSet() {
		b.Contact = Lognormal(10*time.Minute, 2)
	}
	if !b.Outcome.IsSet() {
		b.Outcome = Lognormal(30*time.Minute, 2)
	}
	if !b.Amount.IsSet() {
		b.Amount = Amount{Median: 50000, Spread: 2}
	}
	for i := range t.Roster {
		m := &t.Roster[i]
		if m.Count == 0 {
			m.Count = 1
		}
		if m.Capacity == 0 {
			m.Capacity = 5
		}
		if m.Weight == 0 {
			m.Weight = 1
		}
	}
}

func (t *SalesTier) validate() error {
	var errs conf.Errors
	errs.Merge("behaviour", t.Behaviour.validate())
	ids := map[string]bool{}
	for i := range t.Roster {
		m := &t.Roster[i]
		p := fmt.Sprintf("roster[%d]", i)
		validateMember(&errs, p, ids, Member{ID: m.ID, Count: m.Count},
			router.Manager{Role: router.RoleSales, Capacity: m.Capacity, Weight: m.Weight}, m.Shifts, m.Breaks)
		errs.Merge(p+".behaviour", m.Behaviour.validate())
	}
	errs.Merge("router", t.Router.validate())
	return errs.Err()
}

func prob(errs *conf.Errors, name string, p *float64) {
	if p != nil && (*p < 0 || *p > 1) {
		errs.Add(name, "must be a probability in [0, 1]")
	}
}

func (b *SalesBehaviour) validate() error {
	var errs conf.Errors
	for name, d := range map[string]Dist{"accept": b.Accept, "contact": b.Contact, "outcome": b.Outcome} {
		if err := d.validate(); err != nil {
			errs.Add(name, "%v", err)
		}
	}
	prob(&errs, "lapse", b.Lapse)
	prob(&errs, "reject", b.Reject)
	prob(&errs, "win_rate", b.WinRate)
	if b.Lapse != nil && b.Reject != nil && *b.Lapse+*b.Reject > 1 {
		errs.Add("reject", "lapse + reject must not exceed 1")
	}
	sum := 0.0
	for _, id := range sortedKeys(b.Reasons) {
		if !conf.ValidName(id) {
			errs.Add("reasons."+id, "is not a reason id (1-32 characters of a-z, 0-9, '_' or '-')")
		}
		if b.Reasons[id] < 0 {
			errs.Add("reasons."+id, "must not be negative")
		}
		sum += b.Reasons[id]
	}
	if len(b.Reasons) > 0 && sum <= 0 {
		errs.Add("reasons", "shares must add up to more than 0")
	}
	if b.Amount.IsSet() {
		if err := b.Amount.validate(); err != nil {
			errs.Add("amount", "%v", err)
		}
	}
	return errs.Err()
}

// merge returns b with the fields set in o replaced.
func (b SalesBehaviour) merge(o SalesBehaviour) SalesBehaviour {
	if o.Accept.IsSet() {
		b.Accept = o.Accept
	}
	if o.Lapse != nil {
		b.Lapse = o.Lapse
	}
	if o.Reject != nil {
		b.Reject = o.Reject
	}
	if len(o.Reasons) > 0 {
		b.Reasons = o.Reasons
	}
	if o.Contact.IsSet() {
		b.Contact = o.Contact
	}
	if o.Outcome.IsSet() {
		b.Outcome = o.Outcome
	}
	if o.WinRate != nil {
		b.WinRate = o.WinRate
	}
	if o.Amount.IsSet() {
		b.Amount = o.Amount
	}
	return b
}

func (o SalesOverride) validate() error {
	var errs conf.Errors
	switch o.Strategy {
	case "", router.SalesRoundRobin, router.SalesLeastLoaded, router.SalesBestConversion, router.SalesWeighted:
	default:
		errs.Add("strategy", "must be one of round_robin, least_loaded, best_conversion, weighted (got %q)", o.Strategy)
	}
	if o.AcceptTimeout < 0 {
		errs.Add("accept_timeout", "must be positive")
	}
	if o.FirstContact < 0 {
		errs.Add("first_contact", "must be positive")
	}
	if o.MaxOffers < 0 {
		errs.Add("max_offers", "must be at least 1")
	}
	for i, l := range o.HandoffLevels {
		if l != router.QualHot && l != router.QualWarm {
			errs.Add(fmt.Sprintf("handoff_levels[%d]", i), "must be hot or warm (got %q)", l)
		}
	}
	return errs.Err()
}

// apply returns c with the override's set fields.
func (o SalesOverride) apply(c router.SalesConfig) router.SalesConfig {
	if o.Strategy != "" {
		c.Strategy = o.Strategy
	}
	if o.AcceptTimeout > 0 {
		c.AcceptTimeout = o.AcceptTimeout
	}
	if o.FirstContact > 0 {
		c.FirstContact = o.FirstContact
	}
	if o.MaxOffers > 0 {
		c.MaxOffers = o.MaxOffers
	}
	if len(o.HandoffLevels) > 0 {
		c.HandoffLevels = append([]string(nil), o.HandoffLevels...)
	}
	return c
}

func (o SalesOverride) isZero() bool {
	return o.Strategy == "" && o.AcceptTimeout == 0 && o.FirstContact == 0 && o.MaxOffers == 0 && len(o.HandoffLevels) == 0
}
