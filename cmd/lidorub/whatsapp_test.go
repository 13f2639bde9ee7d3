package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/whatsapp"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
)

// serve wires the WhatsApp linked-device channel when enabled: sender on the router, a
// background runner, metrics at zero; the device store is created with private permissions.
func TestServeWiresWhatsApp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wa")
	cfg := &config.Config{}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = redistest.Prefix()
	cfg.Channels.WhatsApp = whatsapp.Config{Enabled: true, Store: whatsapp.StoreConfig{Dir: dir},
		Accounts: []whatsapp.AccountConfig{{Name: "sales"}, {Name: "support"}}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := build(context.Background(), cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.conn.Close()
	if !g.router.CanReply(channels.WhatsApp) {
		t.Fatal("whatsapp sender not registered")
	}
	var wa runThenClose
	for _, r := range g.runners {
		if rc, ok := r.(runThenClose); ok {
			wa = rc
		}
	}
	if wa.c == nil {
		t.Fatal("whatsapp runner not registered")
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("store dir: %v %v", fi, err)
	}
	w := httptest.NewRecorder()
	g.mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	metrics, _ := io.ReadAll(w.Body)
	for _, want := range []string{`lidorub_whatsapp_connected{account="sales"} 0`, `lidorub_whatsapp_connected{account="support"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Run with a cancelled context: the (unlinked) accounts stop at once and the store closes.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := wa.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

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
