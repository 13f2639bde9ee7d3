package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/router"
)

// lidorub contacts export|erase against the Redis of a gateway that holds a lead.
func TestContactsCommands(t *testing.T) {
	cleanEnv(t)
	_, prefix := redistest.New(t)
	good, err := os.ReadFile("testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(string(good), "  url: embedded\n", "  url: embedded\n  prefix: "+prefix+"\n", 1)
	cfgPath := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	// a gateway on the same Redis writes the lead
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Redis.URL = redistest.URL(t)
	ctx := context.Background()
	g, err := app.Build(ctx, cfg, testlog.Logger(), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Ingest.Ingest(ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m1", ContactID: "tg-4242",
		DisplayName: "Agrafena Cliova", Phone: "+79161112233", Text: "a birch cabinet"}); err != nil {
		t.Fatal(err)
	}
	if err := g.Router.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	g.Close()

	base := []string{"-c", cfgPath, "contacts"}
	for _, c := range []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{"no verb", nil, 2, "contacts export|erase"},
		{"nothing named", []string{"export"}, 2, "give --channel, --contact and --account together"},
		{"two named", []string{"export", "--phone", "+79161112233", "--email", "a@b.example"}, 2, "give --channel"},
		{"embedded", []string{"export", "--phone", "+79161112233"}, 1, "embedded"},
		{"nobody", []string{"export", "--phone", "+79990000000", "--redis", redistest.URL(t)}, 3, "nothing is stored"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, append(base, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.stderrHas) {
				t.Fatalf("code %d (want %d), stderr:\n%s", code, c.code, stderr)
			}
		})
	}
	code, stdout, stderr := runCmd(t, append(base, "export", "--channel", "telegram", "--account", "shop", "--contact", "tg-4242", "--redis", redistest.URL(t))...)
	var x router.ContactExport
	if code != 0 || json.Unmarshal([]byte(stdout), &x) != nil || len(x.Conversations) != 1 || x.Conversations[0].Transcript[0].Text != "a birch cabinet" {
		t.Fatalf("export: code %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, append(base, "erase", "--phone", "+7 916 111-22-33", "--redis", redistest.URL(t))...)
	if code != 0 || stdout != "erased 1 conversation(s): 1\n" {
		t.Fatalf("erase: code %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, _ := runCmd(t, append(base, "export", "--phone", "+79161112233", "--redis", redistest.URL(t))...); code != 3 {
		t.Fatalf("export after erasure: code %d, want 3", code)
	}
}
