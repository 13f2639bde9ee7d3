package qualify_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
)

func ptr(i int) *int { return &i }

func TestRules(t *testing.T) {
	cfg := qualify.Config{DefaultPriority: 1, Rules: []qualify.Rule{
		{Name: "price", Keywords: []string{"price", "цена"}, Priority: ptr(5), Tags: []string{"price"}},
		{Name: "urgent", Regex: `\burgent(ly)?\b`, Priority: ptr(8), Tags: []string{"urgent", "price"}},
		{Name: "low", Keywords: []string{"just looking"}, Priority: ptr(0), Tags: []string{"browsing"}},
		{Name: "spam", Keywords: []string{"casino"}, Channels: []string{"form"}, Spam: true, Tags: []string{"spam"}},
	}}
	q, err := qualify.NewRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, channel, text string
		want                qualify.Result
	}{
		{"no rule", "telegram", "hello", qualify.Result{Priority: 1}},
		{"keyword any case", "telegram", "What is the PRICE?", qualify.Result{Priority: 5, Tags: []string{"price"}}},
		{"cyrillic keyword", "telegram", "Какая ЦЕНА?", qualify.Result{Priority: 5, Tags: []string{"price"}}},
		{"highest priority wins, tags merged and sorted", "telegram", "price, urgently", qualify.Result{Priority: 8, Tags: []string{"price", "urgent"}}},
		{"a matching rule may lower the default", "telegram", "just looking", qualify.Result{Priority: 0, Tags: []string{"browsing"}}},
		{"spam rule limited to its channel", "telegram", "casino", qualify.Result{Priority: 1}},
		{"spam", "form", "best casino", qualify.Result{Priority: 1, Tags: []string{"spam"}, Spam: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := q.Qualify(context.Background(), channels.Inbound{Channel: tc.channel, Text: tc.text})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  qualify.Config
		want string
	}{
		{"bad default", qualify.Config{DefaultPriority: 10}, "default_priority: must be between 0 and 9"},
		{"no name", qualify.Config{Rules: []qualify.Rule{{Keywords: []string{"x"}}}}, "rules[0].name: is required"},
		{"nothing to match", qualify.Config{Rules: []qualify.Rule{{Name: "a"}}}, "rules[0]: needs keywords or regex"},
		{"bad regex", qualify.Config{Rules: []qualify.Rule{{Name: "a", Regex: "("}}}, "rules[0].regex: invalid regular expression: error parsing regexp: missing closing ): `(?i)(`"},
		{"bad priority", qualify.Config{Rules: []qualify.Rule{{Name: "a", Keywords: []string{"x"}, Priority: ptr(-1)}}}, "rules[0].priority: must be between 0 and 9"},
		{"empty keyword", qualify.Config{Rules: []qualify.Rule{{Name: "a", Keywords: []string{" "}}}}, "rules[0].keywords[0]: must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}
