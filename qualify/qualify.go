// Package qualify is the first look at a new conversation: rules from config set its
// priority and tags and can mark what is not a lead (spam, job seekers), before it is
// offered to a lead-manager (and, through Requalifier, a second look at each follow-up
// message while it still waits for a human). Every verdict comes with an Explanation of the rules that
// decided it.
package qualify

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// Result is the verdict for one message.
type Result struct {
	Priority int      // 0 (lowest) .. 9 (highest)
	Tags     []string // sorted, unique
	Spam     bool     // not a lead (spam, job seekers...): stored and closed, never offered
	// Explanation says which rules matched and which one decided; store it with the lead.
	Explanation Explanation
}

// Qualifier judges the first message of a new conversation.
type Qualifier interface {
	Qualify(ctx context.Context, in channels.Inbound) (Result, error)
}

// Requalifier is a Qualifier that can also judge a follow-up message of a conversation
// with its context (the count of the customer's messages so far). The router re-qualifies
// with it while a conversation still waits for a human; a Qualifier without it qualifies
// first messages only.
type Requalifier interface {
	Qualifier
	Requalify(ctx context.Context, in Input) (Result, error)
}

// Input is a message with the context the rules' conditions read beyond channels.Inbound.
type Input struct {
	channels.Inbound
	// Messages is the number of customer messages in the conversation, this one included.
	// Zero means 1: the first message of a new conversation.
	Messages int
	// At is when the message arrived, for the time conditions. Zero: Inbound.ReceivedAt.
	// When both are zero, no time condition holds.
	At time.Time
}

// Rules is the rule-based Qualifier.
type Rules struct {
	cfg   Config
	stems stemCache
}

// NewRules returns a Qualifier for cfg (validated again here, which compiles it).
func NewRules(cfg Config) (*Rules, error) {
	// Copy the rules: Validate compiles into them, and cfg's slice belongs to the caller.
	cfg.Rules = append([]Rule(nil), cfg.Rules...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Rules{cfg: cfg}, nil
}

// Qualify applies every matching rule to the first message of a conversation.
func (q *Rules) Qualify(_ context.Context, in channels.Inbound) (Result, error) {
	return q.Evaluate(Input{Inbound: in}), nil
}

// Requalify applies every matching rule to a message with its context (Evaluate).
func (q *Rules) Requalify(_ context.Context, in Input) (Result, error) {
	return q.Evaluate(in), nil
}

// Evaluate applies every matching rule, in order: the highest priority among them wins
// (the first rule with it decides), tags are merged, and one not-a-lead rule makes the
// message not a lead (the first such rule decides).
func (q *Rules) Evaluate(in Input) Result {
	res := Result{Priority: q.cfg.DefaultPriority}
	m := newMessage(in, &q.stems)
	seen := map[string]bool{}
	raised := false
	decided := -1 // index in Explanation.Rules of the rule that set the priority
	for i := range q.cfg.Rules {
		r := &q.cfg.Rules[i]
		hits, ok := r.match(m)
		if !ok {
			continue
		}
		res.Explanation.Rules = append(res.Explanation.Rules, Match{Rule: r.Name, Hits: hits,
			Priority: r.Priority, Tags: r.Tags, NotALead: r.notALead()})
		if r.Priority != nil && (!raised || *r.Priority > res.Priority) {
			res.Priority = *r.Priority
			raised = true
			decided = len(res.Explanation.Rules) - 1
		}
		if r.notALead() && !res.Spam {
			res.Spam = true
			res.Explanation.DecidedBy = r.Name
		}
		for _, t := range r.Tags {
			if !seen[t] {
				seen[t] = true
				res.Tags = append(res.Tags, t)
			}
		}
	}
	if !res.Spam && decided >= 0 {
		res.Explanation.DecidedBy = res.Explanation.Rules[decided].Rule
	}
	sort.Strings(res.Tags)
	return res
}

// message is an Input prepared for matching: its text lowered, its words stemmed on demand.
type message struct {
	in      *Input
	stems   *stemCache
	lower   string
	toks    []token
	stemmed bool
	at      time.Time
}

func newMessage(in Input, stems *stemCache) *message {
	at := in.At
	if at.IsZero() {
		at = in.ReceivedAt
	}
	return &message{in: &in, stems: stems, lower: strings.ToLower(in.Text), at: at}
}

func (m *message) tokens() []token {
	if !m.stemmed {
		m.toks = tokenize(m.in.Text, maxWords)
		for i := range m.toks {
			m.toks[i].stem = m.stems.stem(m.toks[i].norm)
		}
		m.stemmed = true
	}
	return m.toks
}

// match reports whether the rule applies to m and why: the conditions that hold, then the
// first keyword, word or regex found.
func (r *Rule) match(m *message) ([]Hit, bool) {
	var hits []Hit
	in := m.in
	if len(r.Channels) > 0 {
		if !contains(r.Channels, in.Channel) {
			return nil, false
		}
		hits = append(hits, Hit{Kind: HitChannel, Want: in.Channel})
	}
	if len(r.Sources) > 0 {
		p, ok := anyGlob(r.Sources, in.Source)
		if !ok {
			return nil, false
		}
		hits = append(hits, Hit{Kind: HitSource, Want: p, Found: in.Source})
	}
	for _, u := range r.UTM.list() {
		if len(u.patterns) == 0 {
			continue
		}
		v := in.Meta[u.key]
		p, ok := anyGlob(u.patterns, v)
		if !ok {
			return nil, false
		}
		hits = append(hits, Hit{Kind: HitUTM, Param: u.key, Want: p, Found: v})
	}
	if len(r.windows) > 0 {
		if m.at.IsZero() {
			return nil, false
		}
		lt := m.at.In(r.loc)
		w := -1
		for i := range r.windows {
			if r.windows[i].contains(lt) {
				w = i
				break
			}
		}
		if w < 0 {
			return nil, false
		}
		hits = append(hits, Hit{Kind: HitTime, Want: r.windows[w].text,
			Found: strings.ToLower(lt.Format("Mon 15:04"))})
	}
	if r.HasPhone != nil {
		if (in.Phone != "") != *r.HasPhone {
			return nil, false
		}
		hits = append(hits, Hit{Kind: HitPhone, Want: strconv.FormatBool(*r.HasPhone)})
	}
	if r.HasEmail != nil {
		if (in.Email != "") != *r.HasEmail {
			return nil, false
		}
		hits = append(hits, Hit{Kind: HitEmail, Want: strconv.FormatBool(*r.HasEmail)})
	}
	if r.Messages.set() {
		n := max(in.Messages, 1)
		if n < r.Messages.Min || (r.Messages.Max > 0 && n > r.Messages.Max) {
			return nil, false
		}
		hits = append(hits, Hit{Kind: HitMessages, Want: r.Messages.String(), Found: strconv.Itoa(n)})
	}
	if !r.hasText() {
		return hits, true
	}
	if h, ok := r.matchText(m); ok {
		// The text first: it is what a manager reads first on the card.
		return append([]Hit{h}, hits...), true
	}
	return nil, false
}

func (r *Rule) matchText(m *message) (Hit, bool) {
	for j, k := range r.keywords {
		if i := strings.Index(m.lower, k); i >= 0 {
			return Hit{Kind: HitKeyword, Want: r.Keywords[j], Found: m.lower[i : i+len(k)]}, true
		}
	}
	if len(r.words) > 0 {
		toks := m.tokens()
		for i := range r.words {
			if a, b, ok := r.words[i].find(toks); ok {
				return Hit{Kind: HitWord, Want: r.words[i].text, Found: m.in.Text[toks[a].start:toks[b].end]}, true
			}
		}
	}
	if r.re != nil {
		if loc := r.re.FindStringIndex(m.in.Text); loc != nil {
			return Hit{Kind: HitRegex, Want: r.Regex, Found: m.in.Text[loc[0]:loc[1]]}, true
		}
	}
	return Hit{}, false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// anyGlob returns the first pattern that matches s (case-insensitive, * matches any run).
func anyGlob(patterns []string, s string) (string, bool) {
	ls := strings.ToLower(s)
	for _, p := range patterns {
		if glob(strings.ToLower(p), ls) {
			return p, true
		}
	}
	return "", false
}

// glob matches s against pattern, where * matches any run of characters (also none).
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
