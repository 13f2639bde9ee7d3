package config

import (
	"os"
	"strings"
	"testing"
)

// The commented Telegram example in config.yaml, uncommented, loads with its tokens from the
// environment; enabled without tokens, every error names a channels.telegram path.
func TestTelegramSection(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "  # telegram:":
			in = true
		case in && !strings.HasPrefix(l, "  # "):
			in = false
		}
		if in && !strings.HasPrefix(l, "  # Telegram") && !strings.HasPrefix(l, "  # and the") {
			lines[i] = "  " + strings.TrimPrefix(l, "  # ")
		}
	}
	doc := strings.Join(lines, "\n")
	doc = strings.Replace(doc, "    telegram_id: 0          #", "    telegram_id: 123456789  #", 1)
	cfg, err := Parse([]byte(doc), env(map[string]string{"TG_SHOP_BOT_TOKEN": "111:shop-token-abc", "TG_STAFF_BOT_TOKEN": "222:staff-token-abc"}))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	tg := cfg.Channels.Telegram
	if !tg.Enabled || len(tg.Bots) != 1 || tg.Bots[0].Name != "shop" || tg.Bots[0].Token != "111:shop-token-abc" ||
		tg.Bots[0].Mode != "polling" || tg.Staff.Token != "222:staff-token-abc" || tg.APIURL != "https://api.telegram.org" {
		t.Errorf("telegram: %+v", tg)
	}

	_, err = Parse([]byte("channels:\n  telegram:\n    enabled: true\n    bots:\n      - name: shop\n    staff:\n      token: \"1:abcdefghij\"\n"), env(nil))
	if err == nil {
		t.Fatal("enabled telegram without tokens validated")
	}
	for _, want := range []string{
		"channels.telegram.bots[0].token: is required",
		"channels.telegram.staff.token: is set but no manager has a telegram_id",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "abcdefghij") {
		t.Errorf("a token in a config error: %v", err)
	}
}
