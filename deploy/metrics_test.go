package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

var metricName = regexp.MustCompile(`\blidorub_[a-z0-9_]+`)

// dashboardExprs returns every PromQL expression of the dashboard: the panels' targets (rows'
// nested panels included) and the template variables' queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type       string `json:"type"`
				Definition string `json:"definition"`
				Query      any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	readJSON(t, "grafana/lidorub.json", &d)
	var exprs []string
	var walk func(ps []json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p struct {
				Type    string            `json:"type"`
				Title   string            `json:"title"`
				Panels  []json.RawMessage `json:"panels"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != "row" && p.Type != "text" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q has an empty expression", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			exprs = append(exprs, v.Definition)
			if q, ok := v.Query.(map[string]any); ok {
				exprs = append(exprs, fmt.Sprint(q["query"]))
			}
		}
	}
	return exprs
}

// ruleExprs returns the alert rules' expressions and the series names the promtool tests feed.
func ruleExprs(t *testing.T) (rules, testSeries []string) {
	t.Helper()
	var r struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "prometheus/alerts.yml", &r)
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			rules = append(rules, rule.Expr)
		}
	}
	var tests struct {
		Tests []struct {
			InputSeries []struct {
				Series string `yaml:"series"`
			} `yaml:"input_series"`
		} `yaml:"tests"`
	}
	readYAML(t, "prometheus/alerts_test.yml", &tests)
	for _, tc := range tests.Tests {
		for _, s := range tc.InputSeries {
			testSeries = append(testSeries, s.Series)
		}
	}
	return rules, testSeries
}

// TestDashboardAndRulesUseExportedMetrics runs a scripted scenario through an in-process
// gateway (web-form leads, an offer that lapses and is re-offered, accept, reply, contacted,
// qualify, close, a Telegram auto-acknowledgement that fails permanently and escalates, a lead
// left waiting with nobody online, a refused form) and asserts that every lidorub_* name the
// dashboard, the alert rules and the rules' promtool tests use is exported by the gateway's
// registry: no panel or alert on a metric that does not exist.
func TestDashboardAndRulesUseExportedMetrics(t *testing.T) {
	families := scenario(t)

	rules, series := ruleExprs(t)
	sources := map[string][]string{
		"grafana/lidorub.json":       dashboardExprs(t),
		"prometheus/alerts.yml":      rules,
		"prometheus/alerts_test.yml": series,
	}
	for file, exprs := range sources {
		used := map[string]bool{}
		for _, e := range exprs {
			for _, n := range metricName.FindAllString(e, -1) {
				used[n] = true
			}
		}
		if len(used) < 5 {
			t.Errorf("%s: only %d lidorub_* names found: %v", file, len(used), used)
		}
		names := make([]string, 0, len(used))
		for n := range used {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if !exported(families, n) {
				t.Errorf("%s uses %s, which the gateway does not export", file, n)
			}
		}
		t.Logf("%s: %d metric names, all exported", file, len(names))
	}
}

// exported reports whether name is a gathered family, or a histogram's _bucket/_sum/_count.
func exported(families map[string]*dto.MetricFamily, name string) bool {
	if f, ok := families[name]; ok && len(f.Metric) > 0 {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := families[base]; ok && f.GetType() == dto.MetricType_HISTOGRAM && len(f.Metric) > 0 {
				return true
			}
		}
	}
	return false
}

const (
	annaToken  = "anna-deploy-token-5b1e9c"
	borisToken = "boris-deploy-token-0d7f3a"
	samToken   = "sam-deploy-token-5e21c9"
)

// failAutoAck is a Telegram sender whose automatic acknowledgements fail permanently (the
// customer blocked the bot) and whose manager replies are delivered.
type failAutoAck struct{}

func (failAutoAck) Send(_ context.Context, out channels.Outbound) (channels.SendResult, error) {
	if out.Kind == "auto_ack" {
		return channels.SendResult{}, channels.Permanentf("the customer blocked the bot")
	}
	return channels.SendResult{ChannelMessageID: "tg-" + out.ID}, nil
}

// scenario drives the gateway and returns the gathered metric families by name.
func scenario(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	_, prefix := redistest.New(t)
	doc := fmt.Sprintf(`
instance_id: deploytest
http:
  listen: "127.0.0.1:0"
redis:
  url: %s
  prefix: %s
router:
  offer_timeout: 30s
  first_response: 2m
  max_offers: 3
  escalation:
    managers: [anna]
managers:
  - {id: anna, token: %s, capacity: 5}
  - {id: boris, token: %s, capacity: 5}
  - {id: sam, role: sales, token: %s, capacity: 5}
channels:
  form:
    rate_per_minute: -1
  whatsapp:
    enabled: true
    store: {dir: %s}
    accounts: [{name: sales}]
`, redistest.URL(t), prefix, annaToken, borisToken, samToken, filepath.Join(t.TempDir(), "wa"))
	cfg, err := config.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)) // a Wednesday
	g, err := app.Build(ctx, cfg, slog.New(slog.DiscardHandler), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	g.Router.RegisterSender(channels.Telegram, failAutoAck{})
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	s := &driver{t: t, ctx: ctx, g: g, srv: srv, tokens: map[string]string{"anna": annaToken, "boris": borisToken, "sam": samToken}}

	// The probes of the Kubernetes manifests exist.
	s.must(200, "GET", "/healthz", "", "", nil)
	s.must(200, "GET", "/readyz", "", "", nil)

	s.status("anna", true)
	s.status("sam", true)
	// A web-form lead: offered, accepted, the customer called back 40 s later, qualified hot:
	// handed off to sam (the sales tier), who accepts after 2 min, reaches the customer 10 min
	// later and wins it (the funnel metrics) and closes it.
	s.must(202, "POST", "/webhooks/form", "", `{"name": "Test Lead", "phone": "+79160000001", "message": "a sofa", "consent": true}`, nil)
	s.settle()
	id := s.offered("anna")
	s.must(200, "POST", "/api/v1/conversations/"+id+"/accept", annaToken, "", nil)
	clk.Advance(40 * time.Second)
	s.must(200, "POST", "/api/v1/conversations/"+id+"/contacted", annaToken, "", nil)
	s.must(200, "POST", "/api/v1/conversations/"+id+"/qualify", annaToken, `{"level": "hot"}`, nil)
	s.settle()
	if got := s.offered("sam"); got != id {
		t.Fatalf("sam was offered %s, want %s", got, id)
	}
	clk.Advance(2 * time.Minute)
	s.must(200, "POST", "/api/v1/conversations/"+id+"/sales/accept", samToken, "", nil)
	clk.Advance(10 * time.Minute)
	s.must(200, "POST", "/api/v1/conversations/"+id+"/sales/contacted", samToken, "", nil)
	s.must(200, "POST", "/api/v1/conversations/"+id+"/outcome", samToken, `{"result": "won", "amount": 1500, "currency": "RUB"}`, nil)
	s.must(200, "POST", "/api/v1/conversations/"+id+"/close", samToken, "", nil)
	s.settle()

	// A Telegram lead: the automatic acknowledgement fails (send failure, escalation); anna
	// lets the offer lapse (SLA breach), boris gets it again (re-offer), accepts and replies.
	if _, err := g.Ingest.Ingest(ctx, channels.Inbound{Channel: channels.Telegram, Account: "shop", MessageID: "m1",
		ContactID: "c1", DisplayName: "Test Customer", Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	s.settle()
	tgID := s.offered("anna")
	s.status("boris", true)
	clk.Advance(31 * time.Second)
	s.settle()
	if got := s.offered("boris"); got != tgID {
		t.Fatalf("boris was offered %s, want %s", got, tgID)
	}
	s.must(200, "POST", "/api/v1/conversations/"+tgID+"/accept", borisToken, "", nil)
	s.must(202, "POST", "/api/v1/conversations/"+tgID+"/messages", borisToken, `{"text": "Hello!"}`, nil)
	s.settle()
	s.must(200, "POST", "/api/v1/conversations/"+tgID+"/close", borisToken, "", nil)

	// Everybody goes offline; a lead waits a minute in the queue. A malformed form is refused.
	s.status("anna", false)
	s.status("boris", false)
	s.must(202, "POST", "/webhooks/form", "", `{"name": "Second Lead", "phone": "+79160000002", "message": "a table", "consent": true}`, nil)
	s.settle()
	clk.Advance(time.Minute)
	s.must(400, "POST", "/webhooks/form", "", `{not json`, nil)
	s.settle()

	mfs, err := g.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]*dto.MetricFamily{}
	for _, f := range mfs {
		families[f.GetName()] = f
	}
	// The scenario did what it says: the values behind the main panels and alerts moved.
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"lidorub_speed_to_lead_seconds", map[string]string{"channel": "form"}, 1},
		{"lidorub_speed_to_lead_seconds", map[string]string{"channel": "telegram"}, 1},
		{"lidorub_accept_to_first_reply_seconds", map[string]string{"manager": "boris"}, 1},
		{"lidorub_messages_send_failed_total", map[string]string{"channel": "telegram", "reason": "permanent"}, 1},
		{"lidorub_escalations_total", map[string]string{"reason": "send_failure"}, 1},
		{"lidorub_sla_breaches_total", map[string]string{"kind": "offer_timeout"}, 1},
		{"lidorub_reoffers_total", nil, 1},
		{"lidorub_offers_total", map[string]string{"manager": "anna"}, 2},
		{"lidorub_conversations_closed_total", map[string]string{"channel": "form"}, 1},
		{"lidorub_conversations_qualified_total", map[string]string{"manager": "anna", "level": "hot"}, 1},
		{"lidorub_funnel_total", map[string]string{"stage": "handed_off", "channel": "form"}, 1},
		{"lidorub_funnel_total", map[string]string{"stage": "won", "channel": "form"}, 1},
		{"lidorub_funnel_sales_manager_total", map[string]string{"manager": "sam", "event": "won"}, 1},
		{"lidorub_funnel_won_amount_total", map[string]string{"manager": "sam", "currency": "RUB"}, 1500},
		{"lidorub_sales_accept_seconds", map[string]string{"manager": "sam"}, 1},
		{"lidorub_sales_first_contact_seconds", map[string]string{"manager": "sam"}, 1},
		{"lidorub_messages_sent_total", map[string]string{"channel": "telegram", "kind": "reply"}, 1},
		{"lidorub_form_rejected_total", map[string]string{"reason": "malformed"}, 1},
		{"lidorub_waiting_conversations", nil, 1},
		{"lidorub_oldest_waiting_seconds", nil, 60},
		{"lidorub_managers", map[string]string{"state": "offline"}, 2},
		{"lidorub_redis_up", nil, 1},
		{"lidorub_whatsapp_connected", map[string]string{"account": "sales"}, 0},
		{"lidorub_dead_lettered_total", map[string]string{"stream": "{" + prefix + "}:outbound"}, 0},
		{"lidorub_handler_failures_total", map[string]string{"stream": "{" + prefix + ":in}:inbound"}, 0},
	} {
		if got, ok := value(families[c.name], c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	return families
}

// value is a series' value: a counter's or gauge's value, a histogram's count.
func value(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

type driver struct {
	t      *testing.T
	ctx    context.Context
	g      *app.Gateway
	srv    *httptest.Server
	tokens map[string]string
}

func (s *driver) settle() {
	s.t.Helper()
	if err := s.g.Router.Settle(s.ctx); err != nil {
		s.t.Fatal(err)
	}
}

func (s *driver) must(want int, method, path, token, body string, v any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (s *driver) status(id string, online bool) {
	s.t.Helper()
	s.must(200, "PUT", "/api/v1/managers/"+id+"/status", s.tokens[id], fmt.Sprintf(`{"online": %t}`, online), nil)
	s.settle()
}

// offered returns the id of the one conversation offered to the manager.
func (s *driver) offered(id string) string {
	s.t.Helper()
	var o struct {
		Offers []router.Conversation `json:"offers"`
	}
	s.must(200, "GET", "/api/v1/managers/"+id+"/conversations", s.tokens[id], "", &o)
	if len(o.Offers) != 1 {
		s.t.Fatalf("%s's offers: %+v, want one", id, o.Offers)
	}
	return strconv.FormatInt(o.Offers[0].ID, 10)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The dashboard is importable as it stands: its data source is the DS_PROMETHEUS variable
// (every panel and query uses it), it has the channel variable, panel ids are unique and no
// two panels overlap on the grid.
func TestDashboardStructure(t *testing.T) {
	type grid struct{ H, W, X, Y int }
	type panel struct {
		ID         int                   `json:"id"`
		Type       string                `json:"type"`
		Title      string                `json:"title"`
		GridPos    grid                  `json:"gridPos"`
		Datasource *struct{ UID string } `json:"datasource"`
		Targets    []struct {
			Datasource *struct{ UID string } `json:"datasource"`
		} `json:"targets"`
		Panels []panel `json:"panels"`
	}
	var d struct {
		UID           string  `json:"uid"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	readJSON(t, "grafana/lidorub.json", &d)
	if d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q schemaVersion %d", d.UID, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["DS_PROMETHEUS"] != "datasource" || vars["channel"] != "query" {
		t.Errorf("template variables %v, want DS_PROMETHEUS (datasource) and channel (query)", vars)
	}
	ids := map[int]string{}
	var placed []panel
	var check func(ps []panel)
	check = func(ps []panel) {
		for _, p := range ps {
			if other, dup := ids[p.ID]; dup || p.ID == 0 {
				t.Errorf("panel %q: id %d (also %q)", p.Title, p.ID, other)
			}
			ids[p.ID] = p.Title
			if p.Type != "row" && p.Type != "text" {
				if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
					t.Errorf("panel %q: data source %+v, want ${DS_PROMETHEUS}", p.Title, p.Datasource)
				}
				for _, tg := range p.Targets {
					if tg.Datasource == nil || tg.Datasource.UID != "${DS_PROMETHEUS}" {
						t.Errorf("panel %q: a query's data source %+v", p.Title, tg.Datasource)
					}
				}
			}
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("panel %q: grid %+v", p.Title, g)
			}
			for _, q := range placed {
				o := q.GridPos
				if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
					t.Errorf("panels %q %+v and %q %+v overlap", p.Title, g, q.Title, o)
				}
			}
			placed = append(placed, p)
			check(p.Panels)
		}
	}
	check(d.Panels)
	if len(ids) < 20 {
		t.Errorf("%d panels", len(ids))
	}
}
