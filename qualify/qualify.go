// Package qualify is the first look at a new conversation: rules from config set its
// priority and tags and can mark obvious spam, before it is offered to a lead-manager.
package qualify

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/conf"
)

// Result is the verdict for one message.
type Result struct {
	Priority int      // 0 (lowest) .. 9 (highest)
	Tags     []string // sorted, unique
	Spam     bool     // obvious spam: stored and closed, never offered
}

// Qualifier judges the first message of a new conversation.
type Qualifier interface {
	Qualify(ctx context.Context, in channels.Inbound) (Result, error)
}

// Rule matches a message by keywords (case-insensitive substrings) or a regular expression.
type Rule struct {
	Name     string   `yaml:"name"`
	Keywords []string `yaml:"keywords"`
	Regex    string   `yaml:"regex"`
	Channels []string `yaml:"channels"` // empty: every channel
	Priority *int     `yaml:"priority"` // the highest matching priority wins
	Tags     []string `yaml:"tags"`
	Spam     bool     `yaml:"spam"`

	re *regexp.Regexp
}

// Config is the qualify: section.
type Config struct {
	DefaultPriority int    `yaml:"default_priority"`
	Rules           []Rule `yaml:"rules"`
}

// Defaults fills unset fields. Nothing to fill: the default priority is 0 and rules raise it.
func (c *Config) Defaults() {}

// Validate checks the rules and compiles the regular expressions; paths relative to "qualify".
func (c *Config) Validate() error {
	var errs conf.Errors
	if c.DefaultPriority < 0 || c.DefaultPriority > 9 {
		errs.Add("default_priority", "must be between 0 and 9")
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		p := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			errs.Add(p+".name", "is required")
		}
		if len(r.Keywords) == 0 && r.Regex == "" {
			errs.Add(p, "needs keywords or regex")
		}
		if r.Regex != "" {
			re, err := regexp.Compile("(?i)" + r.Regex)
			if err != nil {
				errs.Add(p+".regex", "invalid regular expression: %v", err)
			}
			r.re = re
		}
		if r.Priority != nil && (*r.Priority < 0 || *r.Priority > 9) {
			errs.Add(p+".priority", "must be between 0 and 9")
		}
		for j, k := range r.Keywords {
			if strings.TrimSpace(k) == "" {
				errs.Add(fmt.Sprintf("%s.keywords[%d]", p, j), "must not be empty")
			}
		}
	}
	return errs.Err()
}

// Rules is the rule-based Qualifier.
type Rules struct{ cfg Config }

// NewRules returns a Qualifier for a validated Config.
func NewRules(cfg Config) (*Rules, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Rules{cfg: cfg}, nil
}

// Qualify applies every matching rule.
func (q *Rules) Qualify(_ context.Context, in channels.Inbound) (Result, error) {
	res := Result{Priority: q.cfg.DefaultPriority}
	text := strings.ToLower(in.Text)
	seen := map[string]bool{}
	raised := false
	for i := range q.cfg.Rules {
		r := &q.cfg.Rules[i]
		if !r.appliesTo(in.Channel) || !r.matches(text) {
			continue
		}
		if r.Priority != nil && (!raised || *r.Priority > res.Priority) {
			res.Priority = *r.Priority
			raised = true
		}
		if r.Spam {
			res.Spam = true
		}
		for _, t := range r.Tags {
			if !seen[t] {
				seen[t] = true
				res.Tags = append(res.Tags, t)
			}
		}
	}
	sortStrings(res.Tags)
	return res, nil
}

func (r *Rule) appliesTo(ch string) bool {
	if len(r.Channels) == 0 {
		return true
	}
	for _, c := range r.Channels {
		if c == ch {
			return true
		}
	}
	return false
}

func (r *Rule) matches(lower string) bool {
	for _, k := range r.Keywords {
		if strings.Contains(lower, strings.ToLower(k)) {
			return true
		}
	}
	return r.re != nil && r.re.MatchString(lower)
}

func sortStrings(s []string) { sort.Strings(s) }
