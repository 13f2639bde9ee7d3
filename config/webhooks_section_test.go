package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The commented webhooks example in config.yaml, uncommented, loads with its secret from the
// environment; a bad secret is reported with its webhooks path and without its value.
func TestWebhooksSection(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "# webhooks:":
			in = true
		case in && !strings.HasPrefix(l, "# "):
			in = false
		}
		if in {
			lines[i] = strings.TrimPrefix(l, "# ")
		}
	}
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cfg, err := Parse([]byte(strings.Join(lines, "\n")), env(map[string]string{"WEBHOOK_CRM_SECRET": secret}))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	w := cfg.Webhooks
	if len(w.Endpoints) != 1 || w.Endpoints[0].Secret != secret || len(w.Endpoints[0].Events) != 4 || !w.Endpoints[0].On() ||
		w.Timeout != 15*time.Second || w.Lease != 2*time.Minute || len(w.RetrySchedule) != 9 || w.DeadRetention != 720*time.Hour {
		t.Fatalf("webhooks: %+v", w)
	}
	_, err = Parse([]byte(strings.Join(lines, "\n")), env(map[string]string{"WEBHOOK_CRM_SECRET": "leak-check-secret-value"}))
	if err == nil || !strings.Contains(err.Error(), "webhooks.endpoints[0].secret: must start with whsec_") {
		t.Fatalf("bad secret: %v", err)
	}
	if strings.Contains(err.Error(), "leak-check-secret-value") {
		t.Errorf("the error repeats the secret: %v", err)
	}
}
