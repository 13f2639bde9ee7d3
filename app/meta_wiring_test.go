package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/instagram"
	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/channels/whatsappcloud"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// serve wires the Meta channels when enabled: webhooks on the mux, senders on the router,
// metrics on the registry.
func TestServeWiresMetaChannels(t *testing.T) {
	cfg := &config.Config{}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = redistest.Prefix()
	cfg.Channels.Instagram = instagram.Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: "igs", VerifyToken: "igv"},
		Accounts: []instagram.Account{{ID: "17841400000000001", Token: "t1"}}}
	cfg.Channels.WhatsAppCloud = whatsappcloud.Config{AppConfig: meta.AppConfig{Enabled: true, AppSecret: "was", VerifyToken: "wav"},
		Accounts: []whatsappcloud.Account{{PhoneNumberID: "106540352242922", Token: "t2"}}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := Build(context.Background(), cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !g.Router.CanReply(channels.Instagram) || !g.Router.CanReply(channels.WhatsAppCloud) {
		t.Fatal("senders not registered")
	}
	for path, tok := range map[string]string{"/webhooks/instagram": "igv", "/webhooks/whatsapp": "wav"} {
		w := httptest.NewRecorder()
		g.Mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path+"?hub.mode=subscribe&hub.verify_token="+tok+"&hub.challenge=42", nil))
		if w.Code != 200 || w.Body.String() != "42" {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"K"},"wa_id":"16315551181"}],"messages":[{"from":"16315551181","id":"wamid.wiring","timestamp":"1732780800","type":"text","text":{"body":"hi"}}]}}]}]}`)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", bytes.NewReader(body))
	r.Header.Set(meta.SignatureHeader, meta.Sign("was", body))
	w := httptest.NewRecorder()
	g.Mux.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("POST /webhooks/whatsapp: %d %s", w.Code, w.Body)
	}
	if n := g.Conn.Client.XLen(context.Background(), g.Conn.Keys.Inbound()).Val(); n != 1 {
		t.Fatalf("%d inbound entries, want 1", n)
	}
	w = httptest.NewRecorder()
	g.Mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	metrics, _ := io.ReadAll(w.Body)
	for _, want := range []string{
		`lidorub_meta_webhook_requests_total{channel="whatsappcloud",result="ok"} 1`,
		`lidorub_meta_graph_requests_total{account="17841400000000001",channel="instagram",result="token_invalid"} 0`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
