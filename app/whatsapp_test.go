package app

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
	g, err := Build(context.Background(), cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !g.Router.CanReply(channels.WhatsApp) {
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
	g.Mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
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
