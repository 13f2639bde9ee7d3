package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tinyScenario = `
name: tiny
arrivals:
  per_hour: [0,0,0,0,0,0,0,0,0,0, 12, 0,0,0,0,0,0,0,0,0,0,0,0,0]
lead_managers:
  behaviour: {notice: 10s, ignore: 0.2, reply: 20s, handling: {mean: 3m}}
  roster: [{id: anna, capacity: 2}, {id: boris, capacity: 2}]
drain: 30m
`

func TestSimulateCommand(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(sc, []byte(tinyScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	var out, errOut bytes.Buffer
	// The default: an embedded Redis per run.
	if code := run([]string{"simulate", "--scenario", sc, "--json", "--out", page, "--seed", "2", "-q"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep struct {
		Leads       int `json:"leads"`
		SpeedToLead struct {
			P50 *float64 `json:"p50"`
		} `json:"speed_to_lead"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Leads == 0 || rep.SpeedToLead.P50 == nil {
		t.Fatalf("bad JSON report (%v): %s", err, out.String())
	}
	if b, err := os.ReadFile(page); err != nil || !bytes.Contains(b, []byte("<svg ")) {
		t.Fatalf("no HTML report: %v", err)
	}

	out.Reset()
	errOut.Reset()
	if code := run([]string{"simulate", "--scenario", sc, "--compare", "assign-once,offer_timeout=15s", "-q"}, &out, &errOut); code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "assign once, never re-offer") || !strings.Contains(out.String(), "offer_timeout=15s") {
		t.Fatalf("compare table:\n%s", out.String())
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(tinyScenario, "ignore: 0.2", "ignore: 2", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run([]string{"simulate", "--scenario", bad}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "lead_managers.behaviour.ignore: must be a probability") {
		t.Fatalf("bad scenario: exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"simulate", "--scenario", sc, "--staff-for", "fast"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "pNN<DURATION") {
		t.Fatalf("bad target: exit %d: %s", code, errOut.String())
	}
}

// The sales tier from the config: its sales managers are the roster of an empty sales:
// section, its sales: section the set-up; --compare takes sales strategies as alternatives.
func TestSimulateSalesFromConfig(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "scenario.yaml")
	scenario := strings.Replace(tinyScenario, "drain: 30m", "drain: 2h\nsales: {behaviour: {accept: 1m, contact: 5m, outcome: 10m}}", 1)
	scenario = strings.Replace(scenario, "per_hour: [0,0,0,0,0,0,0,0,0,0, 12,", "hot_share: 0.5\n  per_hour: [0,0,0,0,0,0,0,0,0,0, 12,", 1)
	cfg := filepath.Join(dir, "config.yaml")
	for path, text := range map[string]string{sc: scenario, cfg: `
managers:
  - {id: lm, telegram_id: 1}
  - {id: vera, role: sales, telegram_id: 2}
  - {id: gleb, role: sales, telegram_id: 3, weight: 3}
sales: {strategy: least_loaded}
`} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"simulate", "-c", cfg, "--scenario", sc, "--compare", "sales.strategy=round_robin,weighted", "-q"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"least_loaded", "sales.strategy=round_robin", "sales.strategy=weighted", "leads per sales mgr/day"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("comparison lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"simulate", "-c", cfg, "--scenario", sc, "--json", "-q"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep struct {
		Sales struct {
			Strategy string `json:"strategy"`
			Funnel   struct {
				HandedOff int `json:"handed_off"`
			} `json:"funnel"`
			Managers []struct {
				ID string `json:"id"`
			} `json:"managers"`
		} `json:"sales"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Sales.Strategy != "least_loaded" || rep.Sales.Funnel.HandedOff == 0 ||
		len(rep.Sales.Managers) != 2 || rep.Sales.Managers[0].ID != "vera" {
		t.Fatalf("sales report (%v): %s", err, out.String())
	}
}
