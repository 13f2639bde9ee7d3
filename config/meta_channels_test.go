package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The commented Instagram and WhatsApp Cloud examples in config.yaml, uncommented, load with
// their secrets from the environment, and errors name channels.<name> paths.
func TestMetaChannelSections(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Uncomment the two example sections (lines "  # instagram:" ... up to the end of the file).
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		if l == "  # instagram:" {
			in = true
		}
		if in && strings.HasPrefix(l, "  # ") && !strings.HasPrefix(l, "  # Instagram") && !strings.HasPrefix(l, "  # Subscribe") &&
			!strings.HasPrefix(l, "  # WhatsApp") {
			lines[i] = "  " + strings.TrimPrefix(l, "  # ")
		}
	}
	doc := strings.Join(lines, "\n")
	doc = regexp.MustCompile(`name: ""\s+# e\.g\. follow_up.*`).ReplaceAllString(doc, `name: follow_up`)
	doc = regexp.MustCompile(`language: ""\s+# e\.g\. en_US`).ReplaceAllString(doc, `language: en_US`)
	envs := map[string]string{
		"INSTAGRAM_APP_SECRET": "igsecret", "INSTAGRAM_VERIFY_TOKEN": "igverify", "INSTAGRAM_TOKEN_SHOP": "EAAGigtoken",
		"WHATSAPP_APP_SECRET": "wasecret", "WHATSAPP_VERIFY_TOKEN": "waverify", "WHATSAPP_TOKEN": "EAAGwatoken",
	}
	cfg, err := Parse([]byte(doc), env(envs))
	if err != nil {
		t.Fatalf("uncommented example: %v\n%s", err, doc)
	}
	ig, wa := cfg.Channels.Instagram, cfg.Channels.WhatsAppCloud
	if !ig.Enabled || ig.AppSecret != "igsecret" || ig.VerifyToken != "igverify" || len(ig.Accounts) != 1 ||
		ig.Accounts[0].ID != "17841400000000000" || ig.Accounts[0].Token != "EAAGigtoken" || ig.Accounts[0].SendID != "17841400000000000" ||
		ig.GraphVersion != "v21.0" || ig.Timeout != 15*time.Second || ig.Comments == nil || !*ig.Comments {
		t.Errorf("instagram: %+v", ig)
	}
	if !wa.Enabled || wa.AppSecret != "wasecret" || len(wa.Accounts) != 1 || wa.Accounts[0].PhoneNumberID != "106540352242922" ||
		wa.Accounts[0].Token != "EAAGwatoken" || wa.Accounts[0].Template == nil || wa.Accounts[0].Template.Name != "follow_up" ||
		wa.GraphURL != "https://graph.facebook.com" {
		t.Errorf("whatsappcloud: %+v", wa)
	}

	// Enabled without secrets: every error names its path under channels.<name>.
	_, err = Parse([]byte("channels:\n  instagram:\n    enabled: true\n  whatsappcloud:\n    enabled: true\n    accounts:\n      - phone_number_id: \"1\"\n"), env(nil))
	if err == nil {
		t.Fatal("enabled channels without secrets validated")
	}
	for _, want := range []string{
		"channels.instagram.app_secret: is required", "channels.instagram.accounts: at least one account is required",
		"channels.whatsappcloud.verify_token: is required", "channels.whatsappcloud.accounts[0].token: is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
