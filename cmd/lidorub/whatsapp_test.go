package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWhatsAppCommands(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	good, err := os.ReadFile("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "wa.yml")
	yml := string(good) + "channels:\n  whatsapp:\n    enabled: true\n    store:\n      dir: " + filepath.Join(dir, "store") +
		"\n    accounts:\n      - name: sales\n      - name: support\n"
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{"no verb", []string{"whatsapp"}, 2, "", "lidorub [-c FILE] whatsapp link [--account NAME]"},
		{"unknown verb", []string{"whatsapp", "unlink"}, 2, "", "whatsapp status"},
		{"link needs an account when several are configured", []string{"whatsapp", "link"}, 2, "", "choose one with --account ([sales support])"},
		{"link rejects a national number", []string{"whatsapp", "link", "--account", "sales", "--phone", "0151 1234567"}, 1, "", "international format"},
		{"link names unconfigured accounts", []string{"whatsapp", "link", "--account", "other", "--phone", "123"}, 1, "", `"other" is not in channels.whatsapp.accounts`},
		{"status", []string{"whatsapp", "status"}, 0,
			"ACCOUNT  CONFIGURED  LINKED  CONNECTED  HELD BY\n" +
				"sales    yes         no      unknown    -\n" +
				"support  yes         no      unknown    -\n", "CONNECTED: unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"-c", cfgPath}, tc.args...)...)
			if code != tc.code || stdout != tc.stdout || !strings.Contains(stderr, tc.stderrHas) {
				t.Fatalf("code %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
		})
	}
}
