package webform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func loadConfig(t *testing.T, file string) (Config, error) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(os.ExpandEnv(string(b))))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	c.Defaults()
	return c, c.Validate()
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	want := Config{Account: "default", PolicyVersion: "1", DefaultRegion: "RU", MaxBodyBytes: 16 << 10,
		DedupeWindow: 10 * time.Minute, RatePerMinute: 30, Burst: 10, MaxTrackedIPs: 10000,
		Captcha: CaptchaConfig{Timeout: 5 * time.Second}}
	want.Enabled = c.Enabled
	if !c.IsEnabled() || c.Account != want.Account || c.PolicyVersion != want.PolicyVersion || c.DefaultRegion != want.DefaultRegion ||
		c.MaxBodyBytes != want.MaxBodyBytes || c.DedupeWindow != want.DedupeWindow || c.RatePerMinute != want.RatePerMinute ||
		c.Burst != want.Burst || c.MaxTrackedIPs != want.MaxTrackedIPs || c.Captcha != want.Captcha {
		t.Fatalf("defaults %+v", c)
	}
}

func TestConfigFiles(t *testing.T) {
	t.Setenv("FORM_CAPTCHA_SECRET", "from-env")
	c, err := loadConfig(t, "testdata/conf.good.yml")
	if err != nil {
		t.Fatalf("good config: %v", err)
	}
	if c.Captcha.Secret != "from-env" || c.IsEnabled() != true || c.DefaultRegion != "KZ" || c.RatePerMinute != 12 {
		t.Errorf("good config decoded as %+v", c)
	}
	tests := map[string]string{
		"conf.bad_region.yml":        `default_region: "ZZ" is not a region code like RU or DE`,
		"conf.body_too_small.yml":    `max_body_bytes: must be between 1024 and 1048576`,
		"conf.dedupe_window.yml":     `dedupe_window: must be at least 1s`,
		"conf.bad_origin.yml":        `allowed_origins[1]: must be an origin like https://example.com or "*" (got "example.com")`,
		"conf.captcha_no_secret.yml": `captcha.secret: is required when captcha.verify_url is set (use ${ENV_VAR})`,
		"conf.captcha_bad_url.yml":   `captcha.verify_url: must be an http(s) URL`,
		"conf.bad_account.yml":       `account: must not contain '{', '}', ':' or spaces`,
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := loadConfig(t, filepath.Join("testdata", file))
			if err == nil || err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}

func TestDisabledSectionValidates(t *testing.T) {
	c, err := loadConfig(t, "testdata/conf.disabled.yml")
	if err != nil || c.IsEnabled() {
		t.Fatalf("disabled: %v %+v", err, c)
	}
}
