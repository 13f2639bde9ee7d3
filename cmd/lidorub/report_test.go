package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/redistest"
)

func TestReportFunnel(t *testing.T) {
	cleanEnv(t)
	rdb, prefix := redistest.New(t)
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	p := "{" + prefix + "}"
	// two leads as the router stores them: one answered by anna after 45 s, one closed unanswered
	for id, tl := range map[int][]string{
		1: {`{"s":"created","at":%d,"m":"","x":""}`, `{"s":"accepted","at":%d,"m":"anna","x":""}`, `{"s":"replied","at":%d,"m":"anna","x":""}`},
		2: {`{"s":"created","at":%d,"m":"","x":""}`, `{"s":"accepted","at":%d,"m":"anna","x":""}`, `{"s":"closed","at":%d,"m":"anna","x":"{\"unanswered\":\"1\"}"}`},
	} {
		ms := at.UnixMilli()
		rdb.ZAdd(ctx, p+":leads", redis.Z{Score: float64(ms), Member: id})
		rdb.HSet(ctx, fmt.Sprintf("%s:conv:%d", p, id), "ch", "telegram", "first_in", ms, "created", ms)
		for i, l := range tl {
			rdb.RPush(ctx, fmt.Sprintf("%s:conv:%d:tl", p, id), fmt.Sprintf(l, ms+int64(i)*15000*int64(id+1)/2))
		}
	}
	cfg := filepath.Join(t.TempDir(), "c.yml")
	yml := "redis:\n  url: embedded\n  prefix: " + prefix + "\nmanagers:\n  - id: anna\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	o := rdb.Options()
	url := fmt.Sprintf("redis://%s/%d", o.Addr, o.DB)
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runReport("", append([]string{"funnel", "-c", cfg, "--redis", url}, args...), &out, &errOut,
			func() time.Time { return at.Add(time.Hour) })
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("--by", "lead_manager", "--format", "csv")
	want := "anna,2,1,1,30,,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,1,0,1\ntotal,2,1,1,30,,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,1,0,1\n"
	if _, rows, _ := strings.Cut(out, "\n"); code != 0 || rows != want || !strings.HasSuffix(strings.SplitN(out, "\n", 2)[0], ",died:accepted/anna") {
		t.Fatalf("csv: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run("--from", "2026-11-25", "--to", "2026-11-25", "--format", "json")
	var f struct {
		Total struct {
			Leads    int      `json:"leads"`
			SpeedP50 *float64 `json:"speed_p50_s"`
		} `json:"total"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &f) != nil || f.Total.Leads != 2 || f.Total.SpeedP50 == nil || *f.Total.SpeedP50 != 30 {
		t.Fatalf("json: %d %s", code, out)
	}
	code, out, _ = run()
	if code != 0 || !strings.Contains(out, "telegram") || !strings.Contains(out, "total: died: accepted/anna=1") {
		t.Fatalf("table: %d\n%s", code, out)
	}
	t.Log("\n" + out)
	if code, _, errOut = run("--from", "last week"); code != 2 || !strings.Contains(errOut, "--from") {
		t.Fatalf("bad --from: %d %s", code, errOut)
	}
	if code, _, errOut = run("--by", "colour"); code != 1 || !strings.Contains(errOut, "by must be") {
		t.Fatalf("bad --by: %d %s", code, errOut)
	}
}
