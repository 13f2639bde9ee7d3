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
