package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The commented WhatsApp (linked device) example in config.yaml, uncommented, loads; the
// shipped file leaves the channel disabled.
func TestWhatsAppSection(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := Parse(raw, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if shipped.Channels.WhatsApp.Enabled {
		t.Fatal("config.yaml enables the WhatsApp linked-device channel")
	}
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "  # whatsapp:":
			in = true
		case l == "":
			in = false
		}
		if in {
			l = "  " + strings.TrimPrefix(l, "  # ")
			if strings.Contains(l, "# postgres_url:") {
				l = strings.Replace(l, "# postgres_url:", "postgres_url:", 1)
			}
			lines[i] = l
		}
	}
	cfg, err := Parse([]byte(strings.Join(lines, "\n")), env(map[string]string{
		"WHATSAPP_POSTGRES_URL": "postgres://lidorub:pw@db:5432/lidorub",
	}))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	wa := cfg.Channels.WhatsApp
	if !wa.Enabled || wa.Store.Dir != "data/whatsapp" || wa.Store.PostgresURL != "postgres://lidorub:pw@db:5432/lidorub" ||
		len(wa.Accounts) != 1 || wa.Accounts[0].Name != "default" || wa.LeaseTTL != 30*time.Second || wa.AllowGroups {
		t.Fatalf("whatsapp: %+v", wa)
	}
}
