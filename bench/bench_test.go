package bench

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The bench only ever loads this machine, and every knob is bounded.
func TestOptionsValidate(t *testing.T) {
	tok := []ManagerToken{{ID: "anna", Token: "t"}}
	for _, tc := range []struct {
		name string
		set  func(o *Options)
		want string // "" = valid
	}{
		{"defaults", func(o *Options) {}, ""},
		{"localhost redis", func(o *Options) { o.RedisURL = "redis://localhost:6379/2" }, ""},
		{"ipv6 loopback target", func(o *Options) { o.Target = "http://[::1]:8080"; o.Managers = tok }, ""},
		{"remote redis", func(o *Options) { o.RedisURL = "redis://10.1.2.3:6379" }, "--redis: \"10.1.2.3\" is not a loopback address"},
		{"remote target", func(o *Options) { o.Target = "http://192.168.1.5:8080"; o.Managers = tok }, "--target: \"192.168.1.5\" is not a loopback address"},
		{"target by name", func(o *Options) { o.Target = "http://gateway.example:8080"; o.Managers = tok }, "is not a loopback address"},
		{"target without managers", func(o *Options) { o.Target = "http://127.0.0.1:8080" }, "--target needs at least one --managers-tokens"},
		{"not a URL", func(o *Options) { o.Target = "127.0.0.1:8080"; o.Managers = tok }, "must be an http URL"},
		{"count too large", func(o *Options) { o.Count = maxCount + 1 }, "--count must be between"},
		{"rate too high", func(o *Options) { o.Rate = maxRate + 1 }, "--rate and --reply-rate"},
		{"duration too long", func(o *Options) { o.Duration = maxDuration + time.Second }, "--duration and --timer-window"},
		{"offer timeout too short", func(o *Options) { o.OfferTimeout = time.Millisecond }, "--offer-timeout"},
		{"too many clients", func(o *Options) { o.Concurrency = maxConcurrency + 1 }, "--concurrency"},
		{"unknown phase", func(o *Options) { o.Phases = []string{"ingest", "soak"} }, "unknown phase \"soak\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{RedisURL: "redis://127.0.0.1:6379"}
			tc.set(&o)
			o.Defaults()
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := Latency{N: 1000, P50: 500, P99: 990, P999: 999, Max: 1000}
	if got != want {
		t.Fatalf("summarize = %+v, want %+v", got, want)
	}
	if (summarize(nil) != Latency{}) {
		t.Fatal("empty input must give a zero summary")
	}
}

func TestKeyKind(t *testing.T) {
	for k, want := range map[string]string{
		"{bench-1}:conv:12":                   "conv",
		"{bench-1}:conv:12:log":               "conv:log",
		"{bench-1}:conv:12:meta":              "conv:meta",
		"{bench-1}:mgr:m001:convs":            "mgr:convs",
		"{bench-1}:mgr:m001":                  "mgr",
		"{bench-1:in}:dedupe:form:default:h1": "in:dedupe",
		"{bench-1:in}:inbound":                "in:inbound",
		"{bench-1}:contact:form:default:+7":   "contact",
	} {
		if got := keyKind(k); got != want {
			t.Errorf("keyKind(%q) = %q, want %q", k, got, want)
		}
	}
}

// Every run prints the form path's share of the GET /healthz ceiling, and it is a target.
func TestReportFormHealthzRatio(t *testing.T) {
	r := &Report{Mode: "in-process", Ingest: &IngestResult{Accepted: 100, PerSec: 6000, HealthzPerSec: 10000, RatioToHealthz: 0.6}}
	r.Targets = targets(r)
	var sb strings.Builder
	if err := r.WriteTable(&sb); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ingest: form webhooks / GET /healthz +60%$`).MatchString(sb.String()) {
		t.Fatalf("no ratio line in\n%s", sb.String())
	}
	var found bool
	for _, tg := range r.Targets {
		if strings.HasPrefix(tg.Name, "form webhooks / GET /healthz") {
			found = true
			if !tg.Met || tg.Measured != "60% (6000/s vs 10000/s)" {
				t.Fatalf("target %+v", tg)
			}
		}
	}
	if !found {
		t.Fatalf("no form/healthz target in %+v", r.Targets)
	}
}
