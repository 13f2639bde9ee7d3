package simulate

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"gopkg.in/yaml.v3"
)

// Dist is a distribution of durations. In YAML it is either a plain duration ("20s": always
// that long) or a mapping:
//
//	{median: 20s, spread: 2}   lognormal: half the draws below median; spread is the geometric
//	                           standard deviation (about 2/3 of draws within median/spread..median*spread)
//	{mean: 8m}                 exponential with that mean
//	{fixed: 10s}               always that long
//
// The zero Dist is "not set" (a default applies).
type Dist struct {
	Kind   string        // "" (unset), fixed, lognormal, exponential
	Median time.Duration // lognormal
	Spread float64       // lognormal, > 1 (1 = no spread)
	Mean   time.Duration // exponential
	Fixed  time.Duration // fixed
}

// Dist kinds.
const (
	DistFixed       = "fixed"
	DistLognormal   = "lognormal"
	DistExponential = "exponential"
)

// Fixed returns a distribution that is always d.
func Fixed(d time.Duration) Dist { return Dist{Kind: DistFixed, Fixed: d} }

// Exponential returns an exponential distribution with the given mean.
func Exponential(mean time.Duration) Dist { return Dist{Kind: DistExponential, Mean: mean} }

// Lognormal returns a lognormal distribution with the given median and geometric spread.
func Lognormal(median time.Duration, spread float64) Dist {
	return Dist{Kind: DistLognormal, Median: median, Spread: spread}
}

// IsSet reports whether the distribution was given.
func (d Dist) IsSet() bool { return d.Kind != "" }

type distYAML struct {
	Median time.Duration `yaml:"median"`
	Spread float64       `yaml:"spread"`
	Mean   time.Duration `yaml:"mean"`
	Fixed  time.Duration `yaml:"fixed"`
}

// UnmarshalYAML reads a duration or a {median, spread} / {mean} / {fixed} mapping.
func (d *Dist) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %q is not a duration (like 20s) or a {median, spread} / {mean} / {fixed} mapping", n.Line, n.Value)
		}
		*d = Fixed(v)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a duration or a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "median", "spread", "mean", "fixed":
		default:
			return fmt.Errorf("line %d: unknown key %q (want median and spread, mean, or fixed)", n.Content[i].Line, n.Content[i].Value)
		}
	}
	var y distYAML
	if err := n.Decode(&y); err != nil {
		return err
	}
	switch {
	case y.Median > 0 && y.Mean == 0 && y.Fixed == 0:
		if y.Spread == 0 {
			y.Spread = 1
		}
		*d = Lognormal(y.Median, y.Spread)
	case y.Mean > 0 && y.Median == 0 && y.Fixed == 0 && y.Spread == 0:
		*d = Exponential(y.Mean)
	case y.Fixed > 0 && y.Median == 0 && y.Mean == 0 && y.Spread == 0:
		*d = Fixed(y.Fixed)
	default:
		return fmt.Errorf("line %d: give exactly one of median (with spread), mean, or fixed, positive", n.Line)
	}
	return nil
}

// MarshalYAML writes the form UnmarshalYAML reads.
func (d Dist) MarshalYAML() (any, error) {
	switch d.Kind {
	case DistLognormal:
		return map[string]any{"median": d.Median.String(), "spread": d.Spread}, nil
	case DistExponential:
		return map[string]any{"mean": d.Mean.String()}, nil
	case DistFixed:
		return d.Fixed.String(), nil
	}
	return nil, nil
}

func (d Dist) validate() error {
	switch d.Kind {
	case DistLognormal:
		if d.Median <= 0 || d.Spread < 1 {
			return fmt.Errorf("lognormal needs median > 0 and spread >= 1")
		}
	case DistExponential:
		if d.Mean <= 0 {
			return fmt.Errorf("exponential needs mean > 0")
		}
	case DistFixed:
		if d.Fixed < 0 {
			return fmt.Errorf("must not be negative")
		}
	}
	return nil
}

// MeanDuration is the distribution's mean.
func (d Dist) MeanDuration() time.Duration {
	switch d.Kind {
	case DistLognormal:
		s := math.Log(d.Spread)
		return time.Duration(float64(d.Median) * math.Exp(s*s/2))
	case DistExponential:
		return d.Mean
	case DistFixed:
		return d.Fixed
	}
	return 0
}

// Sample draws one duration (rounded to the millisecond, the router's resolution).
func (d Dist) Sample(r *rand.Rand) time.Duration {
	var v float64
	switch d.Kind {
	case DistLognormal:
		v = float64(d.Median) * math.Exp(math.Log(d.Spread)*r.NormFloat64())
	case DistExponential:
		v = float64(d.Mean) * r.ExpFloat64()
	case DistFixed:
		v = float64(d.Fixed)
	}
	return time.Duration(math.Round(v/float64(time.Millisecond))) * time.Millisecond
}

func (d Dist) String() string {
	switch d.Kind {
	case DistLognormal:
		return fmt.Sprintf("lognormal(median %s, spread %g)", d.Median, d.Spread)
	case DistExponential:
		return fmt.Sprintf("exponential(mean %s)", d.Mean)
	case DistFixed:
		return d.Fixed.String()
	}
	return "unset"
}

// stream returns a random source determined by the seed and the labels. Each decision of the
// simulation (does this manager ignore this offer of this lead, how long is this lead's
// conversation) draws from its own stream, so alternatives compared on the same seed face the
// same leads and the same human behaviour wherever the situation is the same (common random
// numbers), and one extra draw somewhere does not shift every later one.
func stream(seed uint64, labels ...any) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprint(h, seed)
	for _, l := range labels {
		fmt.Fprintf(h, "|%v", l)
	}
	s := h.Sum64()
	return rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, s))
}
