package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/lidorub/lidorub/bench"
	"github.com/lidorub/lidorub/internal/redistest"
)

// TestBenchSmoke runs `lidorub bench` with tiny numbers against the test Redis, so the
// benchmark keeps working: every phase runs, every lead is offered and answered, and the
// run leaves no key behind.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("the bench smoke test takes a few seconds")
	}
	client, _ := redistest.New(t)
	url := redistest.URL(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "-q", "--json", "--redis", url, "--managers", "3", "--concurrency", "8",
		"--count", "200", "--rate", "100", "--reply-rate", "20", "--duration", "1s",
		"--offer-timeout", "200ms", "--timer-leads", "20", "--timer-window", "1500ms", "--memory-convs", "200"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench exited %d: %s", code, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Raw == nil || rep.Raw.Ops != 200 {
		t.Errorf("raw XADD = %+v, want 200 ops", rep.Raw)
	}
	if in := rep.Ingest; in == nil || in.Accepted != 200 || in.Failed != 0 || in.Offered != 200 || in.HTTP.N != 200 || in.RatioToRaw <= 0 {
		t.Errorf("ingest = %+v, want 200 accepted and offered", rep.Ingest)
	}
	if s := rep.Speed; s == nil || s.FormAccepted != 100 || s.BenchLeads != 20 || s.Offered != 120 ||
		s.Closed != 120 || s.Replies != 20 || s.ManagerErrors != 0 || s.Unknown != 0 || s.InboundToOffer.N != 120 || s.ReplyToSender.N != 20 {
		t.Errorf("speed = %+v, want 120 leads offered, answered and closed, 20 replies timed", rep.Speed)
	}
	if tm := rep.Timers; tm == nil || tm.Leads != 20 || tm.Reoffers < 20 || tm.Lateness.N != tm.Reoffers {
		t.Errorf("timers = %+v, want every lead re-offered at least once", rep.Timers)
	}
	if m := rep.Memory; m == nil || m.Conversations != 200 || m.Offered != 200 || m.Messages != 200 || m.PerConversationKeys <= 0 || m.PerMessageTranscript <= 0 {
		t.Errorf("memory = %+v", rep.Memory)
	}
	if in := rep.Ingest; in != nil && (in.HealthzPerSec <= 0 || in.RatioToHealthz <= 0) {
		t.Errorf("ingest = %+v, want the GET /healthz rate and the form's share of it", in)
	}
	if len(rep.Targets) != 6 {
		t.Errorf("targets = %+v, want 6", rep.Targets)
	}
	// Every key of every bench gateway (and the raw stream) is gone.
	if len(rep.Prefixes) != 5 {
		t.Errorf("prefixes = %v, want one per phase", rep.Prefixes)
	}
	for _, p := range rep.Prefixes {
		for _, pat := range []string{"{" + p + "}*", "{" + p + ":*"} {
			keys, _, err := client.Scan(context.Background(), 0, pat, 100000).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) > 0 {
				t.Errorf("bench left %d keys behind, e.g. %s", len(keys), keys[0])
			}
		}
	}
}
