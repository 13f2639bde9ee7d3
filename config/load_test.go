package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/webform"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// env returns a getenv over a fixed map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func ptr[T any](v T) *T { return &v }

// TestParseErrors: one testdata file per failure mode, the exact error text.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"unknown_top_key", `storage: unknown key (line 3); valid keys: instance_id, log, http, redis, router, managers, sales, templates, locale, qualify, channels, webhooks, console, crm`},
		{"unknown_nested_key", `router.ofer_timeout: unknown key (line 12); did you mean offer_timeout?`},
		{"unknown_list_item_key", `managers[1].capcity: unknown key (line 5); did you mean capacity?`},
		{"bad_duration", `router.offer_timeout: cannot parse "5 minutes" as a duration (e.g. 30s, 2m)`},
		{"negative_offer_timeout", `router.offer_timeout: must be positive`},
		{"bad_strategy", `router.strategy: must be one of least_busy, round_robin, longest_idle (got "fastest")`},
		{"duplicate_manager_id", `managers[2].id: duplicates managers[0].id "anna"`},
		{"bad_shift_time", `managers[0].shifts[0].from: must be a time of day HH:MM (got "9am")`},
		{"bad_time_zone", `managers[0].shifts[0].tz: unknown time zone "Europe/Atlantis"`},
		{"unset_env", `managers[0].token: environment variable LIDORUB_TOKEN_ANNA is not set`},
		{"unknown_escalation_manager", `router.escalation.managers[1]: no manager has id "boss"`},
		{"bad_redis_url", `redis.url: not a redis:// URL or "embedded": redis: invalid URL scheme: http`},
		{"bad_regex", "qualify.rules[0].regex: invalid regular expression: error parsing regexp: missing closing ): `(?i)(price|cost`"},
		{"duplicate_key", `router.offer_timeout: duplicate key (lines 2 and 4)`},
		{"wrong_type", `managers[0].capacity: cannot parse "lots" as an integer
managers[0].telegram_id: cannot parse "@anna" as an integer`},
		{"wrong_kind", `managers: expected a list, got a mapping (line 3)
router: expected a mapping of keys, got a single value (line 1)`},
		{"bad_locale", `locale.default: must be one of en, ru (got "de")
locale.texts.ru.staff.button.tak: unknown text key (the keys are listed in locale/en.yaml)
managers[0].locale: must be one of en, ru (got "english")`},
		{"bad_console", `console.session_ttl: must be between 1m and 720h (got 10s)
console.sign_in_burst: must be at least 1`},
		{"bad_bool", `channels.form.enabled: cannot parse "maybe" as true or false`},
		{"bad_whatsapp_account", `channels.whatsapp.accounts[1].name: must be 1-32 lowercase letters, digits, '-' or '_' (got "Support Team")
channels.whatsapp.lease_ttl: must be at least 3s (got 1s)`},
		{"bad_env_reference", `redis.url: invalid environment reference ${REDIS URL} (use ${NAME} or ${NAME:-default}; $$ for a literal $)`},
		{"multiple_errors", `log.level: must be debug, info, warn or error (got "loud")
managers[0].capacity: must be between 1 and 1000
managers[0].id: must be 1-32 characters of a-z, 0-9, '_' or '-' (got "Anna")
managers[1].capcity: unknown key (line 13); did you mean capacity?
managers[1].shifts[0].from: must be a time of day HH:MM (got "25:00")
managers[1].shifts[0].tz: unknown time zone "Mars/Olympus"
managers[1].token: environment variable LIDORUB_TOKEN_BORIS is not set
managers[2].id: duplicates managers[1].id "boris"
router.max_offers: cannot parse "many" as an integer
router.ofer_timeout: unknown key (line 7); did you mean offer_timeout?
router.offer_timeout: must be positive
router.strategy: must be one of least_busy, round_robin, longest_idle (got "fastest")`},
		// Errors about the file as a whole have no YAML path.
		{"multiple_documents", `the file holds more than one YAML document (the second starts on line 3); put the whole config in one`},
		{"syntax_error", `invalid YAML: line 3: mapping values are not allowed in this context`},
		{"not_a_mapping", `the top level must be a mapping of keys (redis:, router:, ...), not a list (line 1)`},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "conf."+tc.file+".yml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(data, env(nil))
			if err == nil {
				t.Fatalf("no error; want\n%s", tc.want)
			}
			if cfg != nil {
				t.Error("a config was returned along with the error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tc.want)
			}
			// Errors about keys and values are *conf.FieldError, one per problem.
			if !strings.Contains(tc.want, "YAML") && !strings.HasPrefix(tc.want, "the top level") {
				for _, e := range conf.Flatten(err) {
					var fe *conf.FieldError
					if !errors.As(e, &fe) {
						t.Errorf("%q is a %T, not a *conf.FieldError", e, e)
					}
				}
				if n := len(conf.Flatten(err)); n != strings.Count(tc.want, "\n")+1 {
					t.Errorf("%d errors, want %d", n, strings.Count(tc.want, "\n")+1)
				}
			}
		})
	}
	// Every conf.*.yml except the valid ones has a case above.
	files, _ := filepath.Glob("testdata/conf.*.yml")
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "conf."), ".yml")
		if !seen[name] && name != "good" && name != "empty" {
			t.Errorf("%s has no test case", f)
		}
	}
}

func TestParseGood(t *testing.T) {
	data, err := os.ReadFile("testdata/conf.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data, env(map[string]string{"REDIS_PASSWORD": "pw", "TOKEN_ANNA": "anna-token-0123456789"}))
	if err != nil {
		t.Fatal(err)
	}
	weekdays := router.Shift{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "18:00", TimeZone: "Europe/Moscow"}
	want := &Config{
		InstanceID: "gw-1",
		Log:        LogConfig{Level: "debug", Format: "json"},
		HTTP: HTTPConfig{
			Listen: "127.0.0.1:9090", ReadTimeout: 15 * time.Second, ReadHeaderTimeout: 3 * time.Second,
			WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, ShutdownTimeout: 10 * time.Second,
			MaxBodyBytes: 65536,
		},
		Redis: store.Config{URL: "redis://:pw@redis.internal:6379/2", Prefix: "lr", EmbeddedAddr: "127.0.0.1:0"},
		Router: router.Config{
			Strategy: router.RoundRobin, OfferTimeout: 45 * time.Second, FirstResponse: 3 * time.Minute, SpeedTarget: time.Minute,
			MaxOffers: 4, Escalation: router.Escalation{Managers: []string{"vera"}, TelegramChatID: -1001234567890},
			TranscriptLimit: 500, Retention: 30 * 24 * time.Hour, AbandonedRetention: 180 * 24 * time.Hour, Workers: 8, TimerInterval: 100 * time.Millisecond,
			ReclaimIdle: time.Minute, MaxDeliveries: 7, SendRetries: 2,
			OffHoursWhen: router.OffHoursSchedule, PreChat: router.PreChat{PhoneRegion: "RU"},
		},
		Managers: []router.Manager{
			{ID: "anna", Name: "Anna Petrova", Role: "lead", TelegramID: 111111, Token: "anna-token-0123456789",
				Capacity: 3, Weight: 1, Shifts: []router.Shift{weekdays}},
			{ID: "boris", Name: "boris", Role: "lead", Token: "boris-dev-token-0000", Capacity: 5, Weight: 1, Locale: "ru",
				Shifts: []router.Shift{weekdays, {Days: []string{"sat"}, From: "22:00", To: "06:00"}}},
			{ID: "vera", Name: "vera", Role: "supervisor", Capacity: 10, Weight: 1},
		},
		Templates: router.Templates{
			AutoAck:  "Здравствуйте! Менеджер ответит в течение минуты.",
			OffHours: `We are closed; price $5 "tomorrow".`,
			Close:    "Thank you!\n",
		},
		// the templates are adopted as overrides of the default language
		Locale: locale.Config{Default: "en", Texts: map[string]map[string]string{
			"ru": {"staff.button.take": "✅ Беру"},
			"en": {
				"customer.auto_ack":  "Здравствуйте! Менеджер ответит в течение минуты.",
				"customer.off_hours": `We are closed; price $5 "tomorrow".`,
				"customer.close":     "Thank you!\n",
			},
		}},
		Qualify: qualify.Config{DefaultPriority: 1, Rules: []qualify.Rule{
			{Name: "price", Keywords: []string{"price", "цена"}, Priority: ptr(5), Tags: []string{"price"}},
			{Name: "spam", Regex: `crypto\s+giveaway`, Channels: []string{"form"}, Spam: true},
		}},
	}
	// The form section's own defaults are the webform package's business.
	want.Channels.Form = webform.Config{Enabled: ptr(false)}
	want.Channels.Form.Defaults()
	want.Sales.Defaults()              // the sales section's defaults are the router's business
	want.Channels.Instagram.Defaults() // and the Meta channels' theirs
	want.Channels.WhatsAppCloud.Defaults()
	want.Channels.WhatsApp.Defaults()
	want.Webhooks.Defaults() // and the webhooks theirs
	want.Console.Defaults()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(router.Shift{}, qualify.Rule{})); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	// Validation compiled the shifts: Moscow is UTC+3, so Monday 06:30 UTC is 09:30 there.
	if !got.Managers[0].OnShift(time.Date(2026, 11, 30, 6, 30, 0, 0, time.UTC)) {
		t.Error("anna is not on shift on Monday 09:30 Moscow time")
	}
	if got.LogLevel() != slog.LevelDebug {
		t.Errorf("log level %v", got.LogLevel())
	}
}

func TestParseEmpty(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n", "---\n", "~\n", "\n\n"} {
		cfg, err := Parse([]byte(doc), nil)
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		want := &Config{InstanceID: cfg.InstanceID}
		want.Defaults()
		if diff := cmp.Diff(want, cfg); diff != "" {
			t.Errorf("%q: not the defaults (-want +got):\n%s", doc, diff)
		}
		if cfg.Redis.URL != store.Embedded || cfg.HTTP.Listen != "127.0.0.1:8080" || cfg.Router.OfferTimeout != 30*time.Second {
			t.Errorf("%q: defaults not applied: %+v", doc, cfg)
		}
	}
}

// TestEnvExpansion drives ${VAR} expansion through a string value that has no default
// (a qualify tag), so the result is seen exactly.
func TestEnvExpansion(t *testing.T) {
	tests := []struct {
		name  string
		value string // as written in YAML after "- "
		env   map[string]string
		want  string
		err   string
	}{
		{"plain", "${A}", map[string]string{"A": "hello"}, "hello", ""},
		{"inside text", "pre-${A}-post", map[string]string{"A": "hello"}, "pre-hello-post", ""},
		{"two vars", "${A}${B}", map[string]string{"A": "x", "B": "y"}, "xy", ""},
		{"default when unset", "${A:-fallback}", nil, "fallback", ""},
		{"default when empty", "${A:-fallback}", map[string]string{"A": ""}, "fallback", ""},
		{"value beats default", "${A:-fallback}", map[string]string{"A": "set"}, "set", ""},
		{"empty default", "x${A:-}y", nil, "xy", ""},
		{"default with colon-dash", "${A:-a:-b}", nil, "a:-b", ""},
		{"set but empty", "x${A}y", map[string]string{"A": ""}, "xy", ""},
		{"dollar dollar", "$${A}", map[string]string{"A": "no"}, "${A}", ""},
		{"four dollars", "$$$$", nil, "$$", ""},
		{"lone dollar", "cost $5 or $", nil, "cost $5 or $", ""},
		{"not expanded again", "${A}", map[string]string{"A": "${B}", "B": "no"}, "${B}", ""},
		{"no YAML injection", "${A}", map[string]string{"A": "evil: true\nmanagers: [{id: x}]\n# c"}, "evil: true\nmanagers: [{id: x}]\n# c", ""},
		{"hash is not a comment", `"${A} # kept"`, map[string]string{"A": "x # y"}, "x # y # kept", ""},
		{"single quoted", `'${A}'`, map[string]string{"A": "q"}, "q", ""},
		{"unicode", "${A}", map[string]string{"A": "цена"}, "цена", ""},
		{"unset", "${MISSING}", nil, "", "qualify.rules[0].tags[0]: environment variable MISSING is not set"},
		{"two unset", "${M1}-${M2}", nil, "", "qualify.rules[0].tags[0]: environment variable M1 is not set\nqualify.rules[0].tags[0]: environment variable M2 is not set"},
		{"unterminated", "${A", nil, "", "qualify.rules[0].tags[0]: unterminated ${ (write $$ for a literal $)"},
		{"empty name", "${}", nil, "", "qualify.rules[0].tags[0]: invalid environment reference ${} (use ${NAME} or ${NAME:-default}; $$ for a literal $)"},
		{"bad name", "${1A}", nil, "", "qualify.rules[0].tags[0]: invalid environment reference ${1A} (use ${NAME} or ${NAME:-default}; $$ for a literal $)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := "qualify:\n  rules:\n    - name: r\n      keywords: [k]\n      tags:\n        - " + tc.value + "\n"
			cfg, err := Parse([]byte(doc), env(tc.env))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Qualify.Rules[0].Tags[0]; got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnvExpansionTypes(t *testing.T) {
	e := env(map[string]string{"CAP": "7", "TIMEOUT": "1m", "ON": "false", "CHAT": "-100123", "EMPTY": ""})
	cfg, err := Parse([]byte(`
router:
  offer_timeout: ${TIMEOUT}
  first_response: ${NOPE:-}
  max_offers: ${EMPTY}
  escalation:
    telegram_chat_id: ${CHAT}
managers:
  - id: anna
    capacity: ${CAP}
channels:
  form:
    enabled: ${ON}
`), e)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Router.OfferTimeout != time.Minute || cfg.Managers[0].Capacity != 7 || *cfg.Channels.Form.Enabled ||
		cfg.Router.Escalation.TelegramChatID != -100123 {
		t.Errorf("values: %+v %+v %v", cfg.Router, cfg.Managers[0], *cfg.Channels.Form.Enabled)
	}
	// An expansion to "" means "not set" for a non-string: the defaults apply.
	if cfg.Router.FirstResponse != 2*time.Minute || cfg.Router.MaxOffers != 3 {
		t.Errorf("empty expansions did not leave the defaults: %+v", cfg.Router)
	}
	// Keys are never expanded.
	_, err = Parse([]byte("router:\n  ${KEY}: 30s\n"), env(map[string]string{"KEY": "offer_timeout"}))
	if want := `router["${KEY}"]: unknown key (line 2)`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %s...", err, want)
	}
}

// TestSecretsNeverInErrors puts a value from the environment into every kind of value that
// can fail and checks that no error shows it, only the ${VAR} it came from.
func TestSecretsNeverInErrors(t *testing.T) {
	secrets := []string{
		"s3cr3t-V4lue-xyz",
		`pa"ss\word-123`, // quoted and escaped by %q in messages
		"abc",            // short
		"пароль-секрет",  // non-ASCII
		"42x",            // looks almost like a number
	}
	doc := `
log:
  level: ${S}
  format: x${S}y
http:
  listen: ${S}
  read_timeout: ${S}
  max_body_bytes: ${S}
redis:
  url: redis://u:${S}@host:6379/%zz
  prefix: "{${S}}"
router:
  strategy: ${S}
  offer_timeout: ${S}
  max_offers: ${S}
  escalation:
    managers: ["${S}"]
    telegram_chat_id: ${S}
managers:
  - id: ${S}
    capacity: ${S}
    telegram_id: ${S}
    token: ${S}
    shifts:
      - days: ["${S}"]
        from: ${S}
        to: ${S}
        tz: ${S}
qualify:
  default_priority: ${S}
  rules:
    - name: r
      regex: (${S}
      priority: ${S}
channels:
  form:
    enabled: ${S}
`
	for _, secret := range secrets {
		t.Run(secret, func(t *testing.T) {
			_, err := Parse([]byte(doc), env(map[string]string{"S": secret}))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, fmt.Sprintf("%q", secret)[1:len(fmt.Sprintf("%q", secret))-1]) {
				t.Errorf("the secret %q appears in:\n%s", secret, msg)
			}
			if n := len(conf.Flatten(err)); n < 15 {
				t.Errorf("only %d errors:\n%s", n, msg)
			}
			if !strings.Contains(msg, "${S}") {
				t.Errorf("errors do not name the variable:\n%s", msg)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yml")
	if want := "cannot read config file testdata/does-not-exist.yml: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) {
		t.Errorf("%v is not an fs.ErrNotExist *fs.PathError", err)
	}
	_, err = Load("testdata")
	if want := "cannot read config file testdata: is a directory"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// Errors about the whole file are prefixed with its path; errors about keys are not.
	_, err = Load("testdata/conf.syntax_error.yml")
	if want := "testdata/conf.syntax_error.yml: invalid YAML: line 3: mapping values are not allowed in this context"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, err = Load("testdata/conf.bad_strategy.yml")
	if want := `router.strategy: must be one of least_busy, round_robin, longest_idle (got "fastest")`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// Load reads the process environment.
	t.Setenv("LIDORUB_TOKEN_ANNA", "from-the-process-env")
	cfg, err := Load("testdata/conf.unset_env.yml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Managers[0].Token != "from-the-process-env" {
		t.Errorf("token %q", cfg.Managers[0].Token)
	}
}

// TestRootConfig: the shipped config.yaml is valid, runs with no environment at all, and is
// what the README says it is.
func TestRootConfig(t *testing.T) {
	if _, err := Load("../config.yaml"); err != nil {
		t.Fatalf("../config.yaml: %v", err)
	}
	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, env(nil))
	if err != nil {
		t.Fatalf("../config.yaml with an empty environment: %v", err)
	}
	if cfg.Redis.URL != store.Embedded || cfg.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("redis.url %q, http.listen %q", cfg.Redis.URL, cfg.HTTP.Listen)
	}
	// Both tiers on the first run: two lead-managers, a supervisor, a sales manager.
	if len(cfg.Managers) != 4 || cfg.Managers[0].ID != "anna" || cfg.Managers[1].ID != "boris" ||
		cfg.Managers[2].ID != "olga" || cfg.Managers[2].Role != router.RoleSupervisor ||
		cfg.Managers[3].ID != "sasha" || cfg.Managers[3].Role != router.RoleSales || cfg.Managers[3].Token == "" {
		t.Fatalf("managers: %+v", cfg.Managers)
	}
	if !cfg.Console.IsEnabled() || cfg.Managers[2].Token == "" || cfg.Managers[2].Token == cfg.Managers[0].Token {
		t.Errorf("the console and its development supervisor: %v %q", cfg.Console.IsEnabled(), cfg.Managers[2].Token)
	}
	if len(cfg.Managers[0].Shifts) != 1 || len(cfg.Managers[1].Shifts) != 0 {
		t.Errorf("shifts: anna %v, boris %v", cfg.Managers[0].Shifts, cfg.Managers[1].Shifts)
	}
	if cfg.Managers[0].Token == cfg.Managers[1].Token || len(cfg.Managers[0].Token) < 16 {
		t.Errorf("dev tokens %q %q", cfg.Managers[0].Token, cfg.Managers[1].Token)
	}
	if cfg.Channels.Form.Enabled == nil || !*cfg.Channels.Form.Enabled {
		t.Error("channels.form is not enabled")
	}
	q, err := qualify.NewRules(cfg.Qualify)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]qualify.Result{
		"Какая цена?":                 {Priority: 5, Tags: []string{"price"}},
		"free CRYPTO GIVEAWAY click!": {Spam: true, Tags: []string{"spam"}},
	} {
		got, _ := q.Qualify(t.Context(), inbound(text))
		if got.Priority != want.Priority || got.Spam != want.Spam || !reflect.DeepEqual(got.Tags, want.Tags) {
			t.Errorf("%q: %+v, want %+v", text, got, want)
		}
	}
	// The environment overrides the dev tokens.
	cfg, err = Parse(data, env(map[string]string{"LIDORUB_TOKEN_ANNA": "anna-production-token-xyz"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Managers[0].Token != "anna-production-token-xyz" || cfg.Managers[1].Token != "dev-token-boris-0000" {
		t.Errorf("tokens %q %q", cfg.Managers[0].Token, cfg.Managers[1].Token)
	}
}

func TestAnchorsAndMerges(t *testing.T) {
	cfg, err := Parse([]byte(`
managers:
  - &base
    id: anna
    capacity: 4
    shifts: &shifts
      - {from: "09:00", to: "18:00"}
  - <<: *base
    id: boris
  - id: vera
    shifts: *shifts
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Managers[1]; m.ID != "boris" || m.Capacity != 4 || len(m.Shifts) != 1 {
		t.Errorf("merged manager %+v", m)
	}
	if len(cfg.Managers[2].Shifts) != 1 {
		t.Errorf("aliased shifts %+v", cfg.Managers[2])
	}

	// A merge that refers to itself is an error, not a hang.
	_, err = Parse([]byte("router: &r\n  <<: *r\n"), nil)
	if want := "router: merge (<<) refers to itself (line 2)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	// An alias bomb is cut short.
	var b strings.Builder
	b.WriteString("managers:\n  - &m\n    id: a\n    shifts:\n      - &s\n        from: \"09:00\"\n        to: \"18:00\"\n        days: &d [")
	for i := range 100 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("mon")
	}
	b.WriteString("]\n")
	for range 100 {
		b.WriteString("      - *s\n")
	}
	for range 100 {
		b.WriteString("  - *m\n")
	}
	// The expansion limit is what keeps this fast; its speed is not asserted here (timing
	// depends on the machine's load), only that the limit is hit.
	_, err = Parse([]byte(b.String()), nil)
	if want := "the document expands too many aliases"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestDecodeKinds covers the kinds of Go values channel sections may use even though the
// top-level Config does not yet: inline structs, maps, pointers, unsigned and float
// numbers, encoding.TextUnmarshaler, yaml.Unmarshaler.
func TestDecodeKinds(t *testing.T) {
	type Inner struct {
		A string `yaml:"a"`
	}
	type T struct {
		Inner   `yaml:",inline"`
		Map     map[string]int `yaml:"map"`
		Flag    *bool          `yaml:"flag"`
		Small   uint8          `yaml:"small"`
		Ratio   float64        `yaml:"ratio"`
		Level   slog.Level     `yaml:"level"`
		Node    yaml.Node      `yaml:"node"`
		Hex     int            `yaml:"hex"`
		Skipped string         `yaml:"-"`
		Untag   string
	}
	decode := func(doc string, e map[string]string) (T, error) {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
			t.Fatal(err)
		}
		var v T
		d := &decoder{getenv: env(e), active: map[*yaml.Node]bool{}, budget: 1000}
		d.decode("x", root.Content[0], reflect.ValueOf(&v).Elem(), 0)
		return v, errors.Join(d.errs...)
	}
	v, err := decode(`
a: inner
map: {one: 1, two: "${TWO}"}
flag: yes
small: 200
ratio: 0.5
level: warn
node: [1, 2]
hex: 0x1F
untag: u
`, map[string]string{"TWO": "2"})
	if err != nil {
		t.Fatal(err)
	}
	want := T{Inner: Inner{A: "inner"}, Map: map[string]int{"one": 1, "two": 2}, Flag: ptr(true), Small: 200,
		Ratio: 0.5, Level: slog.LevelWarn, Hex: 31, Untag: "u"}
	if diff := cmp.Diff(want, v, cmpopts.IgnoreFields(T{}, "Node")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if v.Node.Kind != yaml.SequenceNode || len(v.Node.Content) != 2 {
		t.Errorf("node %+v", v.Node)
	}
	_, err = decode(`
map: {one: x, one: 2}
small: 300
ratio: fast
level: ${LEVEL}
skipped: s
`, map[string]string{"LEVEL": "secret-level"})
	want2 := `x.level: cannot parse the value of ${LEVEL}
x.map.one: cannot parse "x" as an integer
x.map.one: duplicate key (lines 2 and 2)
x.ratio: cannot parse "fast" as a number
x.skipped: unknown key (line 6); valid keys: a, map, flag, small, ratio, level, node, hex, untag
x.small: "300" is out of range`
	if err == nil || sortErrors(err).Error() != want2 {
		t.Errorf("got\n%v\nwant\n%s", sortErrors(err), want2)
	}
}

func TestNaturalOrder(t *testing.T) {
	paths := []string{"managers[10].id", "managers[2].id", "managers[2]", "http.listen", "managers[2].capacity", "a"}
	var errs []error
	for _, p := range paths {
		errs = append(errs, conf.Errorf(p, "x"))
	}
	got := sortErrors(errors.Join(errs...)).Error()
	want := "a: x\nhttp.listen: x\nmanagers[2]: x\nmanagers[2].capacity: x\nmanagers[2].id: x\nmanagers[10].id: x"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func inbound(text string) channels.Inbound {
	return channels.Inbound{Channel: channels.Form, Text: text}
}

// FuzzParse: no input makes Parse panic or hang, a config it accepts validates again, and no
// error ever shows a value that came from the environment. Run: go test -fuzz FuzzParse ./config
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/conf.*.yml")
	files = append(files, "../config.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	const secret = "Zq7-sekrit-Wv3"
	getenv := func(name string) (string, bool) {
		switch {
		case strings.HasPrefix(name, "U"): // unset
			return "", false
		case strings.HasPrefix(name, "E"): // set but empty
			return "", true
		case strings.HasPrefix(name, "N"): // a number
			return "42", true
		}
		return secret, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, getenv)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config and nil error")
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("accepted config fails Validate: %v", err)
			}
			return
		}
		if cfg != nil {
			t.Fatal("a config along with an error")
		}
		if !strings.Contains(string(data), "sekrit") && strings.Contains(err.Error(), "sekrit") {
			t.Fatalf("the environment value leaks into:\n%s", err)
		}
		for _, e := range conf.Flatten(err) {
			var fe *conf.FieldError
			if errors.As(e, &fe) && (fe.Path == "" || fe.Msg == "") {
				t.Fatalf("error without a path or message: %q", e)
			}
		}
	})
}
