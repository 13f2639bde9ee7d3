package qualify

import (
	"strconv"
	"strings"
)

// Explanation tells why a message got its verdict: meant for the lead card and for
// `lidorub qualify test`. It holds words of the customer's message (the fragments that
// matched): store it with the lead, never log it.
type Explanation struct {
	// Rules are the matching rules in configuration order.
	Rules []Match `json:"rules,omitempty"`
	// DecidedBy names the rule that set the verdict: the first not-a-lead rule, else the
	// first rule with the winning priority; "" when the default priority stands.
	DecidedBy string `json:"decided_by,omitempty"`
}

// Lines returns one sentence per matching rule, e.g.
// "matched «доставку» (word «доставка») in rule delivery → priority 5, tag logistics".
func (e Explanation) Lines() []string {
	if len(e.Rules) == 0 {
		return nil
	}
	out := make([]string, len(e.Rules))
	for i := range e.Rules {
		out[i] = e.Rules[i].String()
	}
	return out
}

// Match is one matching rule: what matched, and what the rule does.
type Match struct {
	Rule     string   `json:"rule"`
	Hits     []Hit    `json:"hits,omitempty"` // the text found first, then the conditions that hold
	Priority *int     `json:"priority,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	NotALead bool     `json:"not_a_lead,omitempty"`
}

// String reads "matched «цена», channel telegram in rule price → priority 5, tag price".
func (m Match) String() string {
	var b strings.Builder
	b.WriteString("matched ")
	for i, h := range m.Hits {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(h.String())
	}
	if len(m.Hits) == 0 {
		b.WriteString("every message")
	}
	b.WriteString(" in rule ")
	b.WriteString(m.Rule)
	b.WriteString(" → ")
	b.WriteString(effect(m.Priority, m.Tags, m.NotALead))
	return b.String()
}

func effect(prio *int, tags []string, notALead bool) string {
	var parts []string
	if notALead {
		parts = append(parts, "not a lead")
	}
	if prio != nil && !notALead {
		parts = append(parts, "priority "+strconv.Itoa(*prio))
	}
	if t := tagList(tags); t != "" {
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

func tagList(tags []string) string {
	switch len(tags) {
	case 0:
		return ""
	case 1:
		return "tag " + tags[0]
	}
	return "tags " + strings.Join(tags, ", ")
}

// Verdict reads "priority 5, tags logistics, price", "not a lead, tag spam" or
// "priority 0, no tags".
func (r Result) Verdict() string {
	if r.Spam {
		return effect(nil, r.Tags, true)
	}
	s := "priority " + strconv.Itoa(r.Priority)
	if t := tagList(r.Tags); t != "" {
		return s + ", " + t
	}
	return s + ", no tags"
}

// Kinds of Hit.
const (
	HitKeyword  = "keyword"  // a substring from keywords
	HitWord     = "word"     // a word or phrase from words
	HitRegex    = "regex"    // the rule's regex
	HitChannel  = "channel"  // channels
	HitSource   = "source"   // sources
	HitUTM      = "utm"      // utm.*: Param names the parameter (utm_source...)
	HitTime     = "time"     // time windows
	HitPhone    = "phone"    // has_phone
	HitEmail    = "email"    // has_email
	HitMessages = "messages" // messages
)

// Hit is one reason a rule matched.
type Hit struct {
	Kind  string `json:"kind"`
	Param string `json:"param,omitempty"` // for utm: utm_source, utm_medium...
	Want  string `json:"want"`            // as configured: the keyword, word, pattern, window, true/false, range
	Found string `json:"found,omitempty"` // what the message had: the words, the value, the local time, the count
}

// String renders the hit for people: «доставку» (word «доставка»), utm_source «google»,
// time sat 21:30 (sat,sun), a phone.
func (h Hit) String() string {
	switch h.Kind {
	case HitKeyword:
		if h.Found == strings.ToLower(h.Want) {
			return quote(h.Want)
		}
		return quote(h.Found) + " (keyword " + quote(h.Want) + ")"
	case HitWord:
		if normalize(h.Found) == normalize(h.Want) {
			return quote(h.Found)
		}
		return quote(h.Found) + " (word " + quote(h.Want) + ")"
	case HitRegex:
		return quote(h.Found) + " (regex " + quote(h.Want) + ")"
	case HitChannel:
		return "channel " + h.Want
	case HitSource, HitUTM:
		name := h.Kind
		if h.Kind == HitUTM {
			name = h.Param
		}
		if strings.EqualFold(h.Found, h.Want) {
			return name + " " + quote(h.Found)
		}
		return name + " " + quote(h.Found) + " (" + h.Want + ")"
	case HitTime:
		return "time " + h.Found + " (" + h.Want + ")"
	case HitPhone:
		if h.Want == "true" {
			return "a phone"
		}
		return "no phone"
	case HitEmail:
		if h.Want == "true" {
			return "an e-mail"
		}
		return "no e-mail"
	case HitMessages:
		return "message count " + h.Found + " (" + h.Want + ")"
	}
	return h.Kind + " " + quote(h.Want)
}

func quote(s string) string { return "«" + s + "»" }
