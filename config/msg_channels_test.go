package config

import (
	"os"
	"strings"
	"testing"
)

// uncommentSection returns config.yaml with the commented example of channels.<name> (from
// "  # <name>:" to the next empty line) uncommented.
func uncommentSection(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	in, found := false, false
	for i, l := range lines {
		if l == "  # "+name+":" {
			in, found = true, true
		}
		if in && l == "" {
			break
		}
		if in {
			lines[i] = "  " + strings.TrimPrefix(l, "  # ")
		}
	}
	if !found {
		t.Fatalf("config.yaml has no commented channels.%s example", name)
	}
	return []byte(strings.Join(lines, "\n"))
}

// The commented Viber example in config.yaml, uncommented, loads with its token from the
// environment; without it the error names the path.
func TestViberSection(t *testing.T) {
	doc := uncommentSection(t, "viber")
	cfg, err := Parse(doc, env(map[string]string{"VIBER_TOKEN_SHOP": "4b5ba7e2a94d6a21-7dd1c0d64e3b54d8"}))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	v := cfg.Channels.Viber
	if !v.Enabled || len(v.Bots) != 1 || v.Bots[0].Token != "4b5ba7e2a94d6a21-7dd1c0d64e3b54d8" || v.Bots[0].SenderName != "Shop" ||
		v.APIURL != "https://chatapi.viber.com/pa" || v.DefaultRegion != "RU" {
		t.Errorf("viber: %+v", v)
	}
	_, err = Parse(doc, env(nil))
	if err == nil || !strings.Contains(err.Error(), "channels.viber.bots[0].token") {
		t.Errorf("without the token: %v", err)
	}
}

// The commented VK example in config.yaml, uncommented, loads with its secrets from the
// environment; without them the errors name the paths.
func TestVKSection(t *testing.T) {
	doc := uncommentSection(t, "vk")
	cfg, err := Parse(doc, env(map[string]string{"VK_TOKEN_SHOP": "vk1.a.token", "VK_CONFIRMATION_SHOP": "a1b2c3d4", "VK_SECRET_SHOP": "Zq8mT3vX9kP2rW7y"}))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	v := cfg.Channels.VK
	if !v.Enabled || len(v.Communities) != 1 || v.Communities[0].GroupID != 229017813 || v.Communities[0].Token != "vk1.a.token" ||
		v.Communities[0].Confirmation != "a1b2c3d4" || v.Communities[0].Secret != "Zq8mT3vX9kP2rW7y" || v.APIVersion != "5.199" {
		t.Errorf("vk: %+v", v)
	}
	_, err = Parse(doc, env(nil))
	if err == nil || !strings.Contains(err.Error(), "channels.vk.communities[0].token") {
		t.Errorf("without the secrets: %v", err)
	}
}
