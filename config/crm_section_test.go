package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The commented crm: example in config.yaml, uncommented, loads (with one manager the users
// mapping names); the shipped file leaves both connectors off.
func TestCRMSection(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := Parse(raw, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if shipped.CRM.AmoCRM.Enabled || shipped.CRM.Bitrix24.Enabled {
		t.Fatal("config.yaml enables a CRM connector")
	}
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "# crm:":
			in = true
		case l == "":
			in = false
		}
		if in {
			lines[i] = strings.TrimPrefix(strings.TrimPrefix(l, "# "), "#")
		}
	}
	text := strings.Join(lines, "\n")
	if !strings.Contains(text, "\ncrm:\n") {
		t.Fatal("no crm: example in config.yaml")
	}
	vars := map[string]string{"AMOCRM_TOKEN": "tok", "AMOCRM_WEBHOOK_SECRET": "0123456789abcdef",
		"BITRIX24_WEBHOOK_URL": "https://example.bitrix24.ru/rest/1/code/", "BITRIX24_APPLICATION_TOKEN": "apptoken1"}
	cfg, err := Parse([]byte(text), env(vars))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	a, b := cfg.CRM.AmoCRM, cfg.CRM.Bitrix24
	if !a.Enabled || a.Users["anna"] != 1234567 || a.LossReasons["8317"] != "price" || a.LostReason != "other" || a.ReconcileInterval != 10*time.Minute ||
		a.Trigger != "handed_off" || a.MaxAttempts != 20000 || !b.Enabled || b.Entity != "deal" || b.Users["anna"] != 1 {
		t.Fatalf("crm: %+v %+v", a, b)
	}

	// a users key that is no manager is named with its path
	bad := strings.Replace(text, "      anna: 1234567", "      nobody: 1234567", 1)
	if _, err := Parse([]byte(bad), env(vars)); err == nil || !strings.Contains(err.Error(), `crm.amocrm.users.nobody: no manager has id "nobody"`) {
		t.Fatalf("unknown manager: %v", err)
	}
	// a loss reason the sales tier does not know would make every such lost outcome refused
	for old, want := range map[string]string{
		`"8317": price`:      `crm.amocrm.loss_reasons.8317: must be one of sales.loss_reasons (got "too_expensive")`,
		"lost_reason: other": `crm.amocrm.lost_reason: must be one of sales.loss_reasons (got "nope")`,
	} {
		repl := map[string]string{`"8317": price`: `"8317": too_expensive`, "lost_reason: other": "lost_reason: nope"}[old]
		bad := strings.Replace(text, old, repl, 1)
		if _, err := Parse([]byte(bad), env(vars)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", repl, err)
		}
	}
}
