package bench

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
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

// With the router held, the report says so on every line that measured the form path alone,
// and gives the router's backlog rate and the pipeline over the POSTs' time plus the router's.
func TestReportRouterHeld(t *testing.T) {
	r := &Report{Mode: "in-process", Ingest: &IngestResult{Accepted: 100, PerSec: 5000, Seconds: 0.02, RouterHeld: true,
		HealthzPerSec: 8000, HealthzBeforePerSec: 7000, HealthzAfterPerSec: 9000, RatioToHealthz: 0.625, HealthzProcessUS: 40,
		FormCPU: &CPUCost{ProcessUS: 70, RedisUS: 15}, Offered: 100, RouterSeconds: 0.03, RouterPerSec: 3333, RouterCPU: &CPUCost{ProcessUS: 45, RedisUS: 60, RedisCommands: 25},
		PipelineSeconds: 0.05, PipelinePerSec: 2000}}
	r.Targets = targets(r)
	var sb strings.Builder
	if err := r.WriteTable(&sb); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^ingest: form webhooks accepted \(router held\) +5000/s`,
		`(?m)^ingest: HTTP ceiling \(GET /healthz, same clients, router held\) +8000/s \(mean of 7000/s before and 9000/s after the form path\)$`,
		`(?m)^ingest: form webhooks / GET /healthz \(form path alone\) +62% \(CPU of this process per request: GET /healthz 40 us, form lead 70 us \+ 15 us Redis\)$`,
		`(?m)^pipeline: router on the held backlog \(qualify -> offer\) +3333 new conversations/s \(100 offered in 0.03s after release\); 45 us process \+ 60 us Redis, 25.0 Redis calls per lead$`,
		`(?m)^pipeline: ingest -> qualify -> offer +2000 new conversations/s \(100 offered in 0.05s: POSTs 0.02s, then the router 0.03s\)$`,
		`(?m)^form webhooks / GET /healthz \(same run, router held\) +>= 50% +62% \(5000/s vs 8000/s\) +yes$`,
	} {
		if !regexp.MustCompile(re).MatchString(sb.String()) {
			t.Errorf("no line matching %s in\n%s", re, sb.String())
		}
	}
}

// The ceiling is the mean of GET /healthz before and after the form path, and the ratio is
// taken against it.
func TestSetHealthzMeanOfBeforeAndAfter(t *testing.T) {
	r := &IngestResult{PerSec: 5000}
	r.setHealthz(healthzRun{perSec: 12000, processUS: 30}, healthzRun{perSec: 8000, processUS: 50})
	if r.HealthzPerSec != 10000 || r.HealthzBeforePerSec != 12000 || r.HealthzAfterPerSec != 8000 ||
		r.HealthzProcessUS != 40 || r.RatioToHealthz != 0.5 {
		t.Fatalf("setHealthz: %+v", r)
	}
	r = &IngestResult{PerSec: 5000}
	r.setHealthz(healthzRun{}, healthzRun{})
	if r.RatioToHealthz != 0 {
		t.Fatalf("no ceiling measured, ratio %v", r.RatioToHealthz)
	}
}

// formLead's hand-built body is valid JSON with the fields the former map encoding had.
func TestFormLeadBody(t *testing.T) {
	for _, i := range []int{0, 1, 7, 1234567, 9_999_999, 10_000_001} {
		body, phone := formLead("0a1b2c3d4e", i)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("lead %d: %v in %s", i, err, body)
		}
		msg := "Hello! Please call me back about your services, request 0a1b2c3d4e-" + strconv.Itoa(i)
		if i%2 == 0 {
			msg = "Hello! What is the price of the premium package? Please call me back, request 0a1b2c3d4e-" + strconv.Itoa(i)
		}
		want := map[string]any{"name": "Bench Customer " + strconv.Itoa(i), "phone": fmt.Sprintf("+7999%07d", i%10_000_000),
			"message": msg, "consent": true, "utm_source": "bench", "utm_campaign": "load"}
		if !reflect.DeepEqual(got, want) || phone != want["phone"] {
			t.Fatalf("lead %d: %v (phone %q), want %v", i, got, phone, want)
		}
	}
}

// The report warns when GET /healthz before and after the form path are more than 15 % apart
// (the machine's speed changed during the run), and only then.
func TestReportHealthzDrift(t *testing.T) {
	note := regexp.MustCompile(`(?m)^ingest: note +GET /healthz was 25% apart before and after the form path: the machine's speed changed during the run`)
	for _, c := range []struct {
		before, after float64
		warn          bool
	}{{7000, 9000, true}, {9000, 7000, true}, {9000, 8000, false}, {8000, 8000, false}, {0, 8000, false}} {
		r := &Report{Mode: "in-process", Ingest: &IngestResult{Accepted: 100, PerSec: 5000, HealthzPerSec: 8000,
			HealthzBeforePerSec: c.before, HealthzAfterPerSec: c.after, RatioToHealthz: 0.625}}
		var sb strings.Builder
		if err := r.WriteTable(&sb); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(sb.String(), "ingest: note"); got != c.warn || (c.warn && !note.MatchString(sb.String())) {
			t.Errorf("before %v after %v: warning %v, want %v in\n%s", c.before, c.after, got, c.warn, sb.String())
		}
	}
}
