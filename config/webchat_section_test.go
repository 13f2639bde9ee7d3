package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The commented website chat example in config.yaml, uncommented, loads with the defaults
// it shows; the shipped file leaves the chat disabled.
func TestWebChatSection(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := Parse(raw, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if shipped.Channels.WebChat.Enabled {
		t.Fatal("config.yaml enables the website chat")
	}
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "  # webchat:":
			in = true
		case l == "":
			in = false
		}
		if in {
			lines[i] = "  " + strings.TrimPrefix(l, "  # ")
		}
	}
	cfg, err := Parse([]byte(strings.Join(lines, "\n")), env(map[string]string{
		"WEBCHAT_SECRET": "0123456789abcdef0123456789abcdef0123",
	}))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	wc := cfg.Channels.WebChat
	if !wc.Enabled || wc.Secret != "0123456789abcdef0123456789abcdef0123" || len(wc.AllowedOrigins) != 1 ||
		wc.TokenTTL != 720*time.Hour || !wc.ConsentRequired() || wc.MaxChars != 2000 || wc.HistoryLimit != 200 ||
		wc.RatePerMinute != 20 || wc.IPRatePerMinute != 120 || wc.Heartbeat != 15*time.Second || wc.PollWait != 25*time.Second {
		t.Fatalf("webchat: %+v", wc)
	}
}
