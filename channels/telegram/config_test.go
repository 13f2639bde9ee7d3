package telegram

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, in order; none: valid
	}{
		{name: "absent", yaml: `{}`},
		{name: "disabled with junk", yaml: `{enabled: false, bots: [{name: "", token: ""}]}`},
		{name: "polling", yaml: `{enabled: true, bots: [{name: shop, token: "123:abcdefghij"}]}`},
		{name: "staff only", yaml: `{enabled: true, staff: {token: "123:abcdefghij"}}`},
		{name: "no bots", yaml: `{enabled: true}`, want: []string{"bots: at least one bot"}},
		{name: "bad bot", yaml: `{enabled: true, bots: [{name: "Shop!", token: "nope", mode: push}]}`,
			want: []string{"bots[0].name: must be", "bots[0].token: does not look like", "bots[0].mode: must be polling or webhook"}},
		{name: "missing token", yaml: `{enabled: true, bots: [{name: shop}]}`, want: []string{"bots[0].token: is required"}},
		{name: "duplicates", yaml: `{enabled: true, bots: [{name: a, token: "1:abcdefghij"}, {name: a, token: "1:abcdefghij"}]}`,
			want: []string{"bots[1].name: duplicates bots[0].name", "bots[1].token: is the same as bots[0].token"}},
		{name: "reserved name", yaml: `{enabled: true, bots: [{name: staff, token: "1:abcdefghij"}]}`, want: []string{"bots[0].name: \"staff\" is reserved"}},
		{name: "webhook without url and secret", yaml: `{enabled: true, bots: [{name: a, token: "1:abcdefghij", mode: webhook, webhook_url: "http://x"}]}`,
			want: []string{"bots[0].webhook_url: must be an https URL", "bots[0].webhook_secret: is required"}},
		{name: "webhook", yaml: `{enabled: true, bots: [{name: a, token: "1:abcdefghij", mode: webhook, webhook_url: "https://x.example/webhooks/telegram/a", webhook_secret: "0123456789abcdef"}]}`},
		{name: "timeouts", yaml: `{enabled: true, poll_timeout: 90s, lease_ttl: 5s, api_url: "ftp://x", bots: [{name: a, token: "1:abcdefghij"}]}`,
			want: []string{"api_url: must be an http(s) URL", "poll_timeout: must be between", "lease_ttl: must be longer"}},
		{name: "staff token", yaml: `{enabled: true, staff: {token: "x"}}`, want: []string{"staff.token: does not look like"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			dec := yaml.NewDecoder(strings.NewReader(tc.yaml))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil {
				t.Fatal(err)
			}
			c.Defaults()
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want errors %q", tc.want)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "abcdefghij") {
				t.Errorf("error shows a token: %q", msg)
			}
		})
	}
}

func TestSharedBot(t *testing.T) {
	c := Config{Bots: []BotConfig{{Name: "a", Token: "1:x"}, {Name: "b", Token: "2:y"}}, Staff: StaffConfig{Token: "2:y"}}
	if got := c.SharedBot(); got != "b" {
		t.Fatalf("SharedBot = %q", got)
	}
	c.Staff.Token = "3:z"
	if got := c.SharedBot(); got != "" {
		t.Fatalf("SharedBot = %q", got)
	}
}
