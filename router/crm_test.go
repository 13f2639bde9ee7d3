package router_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/lidorub/lidorub/router"
)

func TestRecordCRMAppendsCRMStage(t *testing.T) {
	e := newEnv(t, opts{})
	e.inbound("c1", "hello")
	stream := e.keys.Core("timeline")
	before, _ := e.rdb.XLen(e.ctx, stream).Result()
	if err := e.r.RecordCRM(e.ctx, 1, "amocrm", "9774766", "created"); err != nil {
		t.Fatal(err)
	}
	entries, err := e.rdb.XRange(e.ctx, stream, "-", "+").Result()
	if err != nil || int64(len(entries)) != before+1 {
		t.Fatalf("timeline stream %d entries (%v), want %d", len(entries), err, before+1)
	}
	got := entries[len(entries)-1].Values
	var x map[string]string
	_ = json.Unmarshal([]byte(got["x"].(string)), &x)
	if got["c"] != "1" || got["s"] != router.StageCRM || got["m"] != "" || got["at"] == "" ||
		len(x) != 3 || x["crm"] != "amocrm" || x["id"] != "9774766" || x["status"] != "created" {
		t.Fatalf("entry %v", got)
	}
	tl, _ := e.rdb.LRange(e.ctx, e.keys.Core("conv", "1", "tl"), -1, -1).Result()
	if len(tl) != 1 || tl[0] == "" {
		t.Fatalf("timeline list %v", tl)
	}
	if err := e.r.RecordCRM(e.ctx, 999, "amocrm", "1", "created"); !errors.Is(err, router.ErrNotFound) {
		t.Fatalf("unknown lead: %v, want ErrNotFound", err)
	}
}
