package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lidorub/lidorub/router"
)

func TestLeadTimelineAPI(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer("c1", "Ivan", "hello")
	id := e.offeredTo(annaTok, "anna")
	e.action(annaTok, id, "accept", "")
	var v struct {
		Lead     int64                  `json:"lead"`
		Timeline []router.TimelineEntry `json:"timeline"`
	}
	e.ok(annaTok, "GET", "/api/v1/leads/"+itoa(id)+"/timeline", "", 200, &v)
	var stages []string
	for _, s := range v.Timeline {
		stages = append(stages, s.Stage+":"+s.Manager)
	}
	if v.Lead != id || strings.Join(stages, " ") != "created: offered:anna accepted:anna" {
		t.Fatalf("timeline: %+v", v)
	}
	e.ok(veraTok, "GET", "/api/v1/leads/"+itoa(id)+"/timeline", "", 200, &v) // a supervisor: any lead
	// another lead-manager, and a lead that does not exist: the same 404
	for _, tc := range []struct{ tok, path string }{
		{borisTok, "/api/v1/leads/" + itoa(id) + "/timeline"},
		{veraTok, "/api/v1/leads/999/timeline"},
	} {
		if r := e.as(tc.tok, "GET", tc.path, ""); r.status != 404 || r.errMsg(t) != "no such conversation" {
			t.Errorf("%s: %s", tc.path, r)
		}
	}
}

func TestFunnelAPI(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer("c1", "Ivan", "hello")
	id := e.offeredTo(annaTok, "anna")
	e.action(annaTok, id, "accept", "")
	e.clock.Advance(30 * time.Second)
	e.ok(annaTok, "POST", "/api/v1/conversations/"+itoa(id)+"/messages", `{"text": "hi"}`, 202, nil)
	e.settle()
	e.customer("c2", "Olga", "hello") // offered, never answered
	e.clock.Advance(time.Minute)

	var f router.Funnel
	e.ok(veraTok, "GET", "/api/v1/reports/funnel?by=lead_manager", "", 200, &f) // default: the last 7 days
	if len(f.Groups) != 2 || f.Groups[1].Group != "anna" || f.Groups[1].Answered != 1 || f.Groups[1].AnsweredInSLA != 1 ||
		f.Groups[0].Group != router.NoGroup || f.Total.Leads != 2 || f.Total.SpeedP50 == nil || *f.Total.SpeedP50 != 30 ||
		f.Total.SpeedP95 != nil || f.Total.SpeedP95Reached || f.To != t0.Add(time.Minute+30*time.Second) {
		t.Fatalf("funnel: %+v", f)
	}
	e.ok(veraTok, "GET", "/api/v1/reports/funnel?from=2026-11-25&to=2026-11-25&by=channel", "", 200, &f)
	if f.Total.Leads != 2 || !f.From.Equal(t0.Truncate(24*time.Hour)) || !f.To.Equal(t0.Truncate(24*time.Hour).Add(24*time.Hour)) {
		t.Fatalf("by date: %+v", f)
	}

	csv := func(path, accept string) (int, string, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+veraTok)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	const want = "telegram,2,1,1,30,,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0\ntotal,2,1,1,30,,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	for _, tc := range []struct{ path, accept string }{
		{"/api/v1/reports/funnel?by=channel&format=csv", ""},
		{"/api/v1/reports/funnel?by=channel", "text/csv"},
	} {
		st, ct, body := csv(tc.path, tc.accept)
		_, rows, _ := strings.Cut(body, "\n")
		if st != 200 || ct != "text/csv; charset=utf-8" || !strings.HasPrefix(body, "group,leads,answered,") || rows != want {
			t.Errorf("%s (Accept %q): %d %s\n%s", tc.path, tc.accept, st, ct, body)
		}
	}

	for _, tc := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01", "to"},
		{"from=2026-11-25&to=2026-11-20", "to"},
		{"by=colour", "by"},
		{"format=xml", "format"},
	} {
		r := e.as(veraTok, "GET", "/api/v1/reports/funnel?"+tc.query, "")
		if r.status != 422 || !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %s", tc.query, r)
		}
	}
	if r := e.as(annaTok, "GET", "/api/v1/reports/funnel", ""); r.status != 403 {
		t.Errorf("a lead-manager: %s", r)
	}
}
