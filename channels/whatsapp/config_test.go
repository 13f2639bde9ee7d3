package whatsapp

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // exact error lines, sorted as returned
	}{
		{"absent", ``, nil},
		{"disabled with junk", "enabled: false\nlease_ttl: 1ms\naccounts: [{name: 'Bad Name'}]", nil},
		{"enabled defaults", "enabled: true", nil},
		{"postgres", "enabled: true\nstore: {postgres_url: 'postgres://lidorub:secret@db:5432/lidorub'}", nil},
		{"bad postgres", "enabled: true\nstore: {postgres_url: 'mysql://u:secret@db/x'}", []string{"store.postgres_url: must be a postgres:// URL"}},
		{"accounts", "enabled: true\naccounts: [{name: sales}, {name: ''}, {name: 'Sales Team'}, {name: sales}]", []string{
			"accounts[1].name: is required",
			`accounts[2].name: must be 1-32 lowercase letters, digits, '-' or '_' (got "Sales Team")`,
			`accounts[3].name: duplicate account "sales"`,
		}},
		{"lease", "enabled: true\nlease_ttl: 1s", []string{"lease_ttl: must be at least 3s (got 1s)"}},
		{"log level", "enabled: true\nlibrary_log_level: loud", []string{`library_log_level: must be debug, info, warn or error (got "loud")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			dec := yaml.NewDecoder(strings.NewReader(tt.yaml))
			dec.KnownFields(true)
			if err := dec.Decode(&c); err != nil && tt.yaml != "" {
				t.Fatal(err)
			}
			c.Defaults()
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Fatal("error leaks the postgres password")
			}
		})
	}

	var c Config
	c.Defaults()
	if c.Store.Dir != "data/whatsapp" || c.LeaseTTL != 30*time.Second || len(c.Accounts) != 1 || c.Accounts[0].Name != DefaultAccount {
		t.Fatalf("defaults %+v", c)
	}
}
