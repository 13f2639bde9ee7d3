package router_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// lidorub_oldest_waiting_seconds is the age of the longest-waiting queued conversation,
// whatever its priority: a younger lead of a higher priority sits ahead of it in the queue
// and must not hide it; an empty queue reports 0.
func TestOldestWaitingSeconds(t *testing.T) {
	e := newEnv(t, opts{qualify: followUpRules()})
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.r.AgeCollector())
	oldest := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(mfs) != 1 || mfs[0].GetName() != "lidorub_oldest_waiting_seconds" || len(mfs[0].Metric) != 1 {
			t.Fatalf("gathered %v", mfs)
		}
		return mfs[0].Metric[0].GetGauge().GetValue()
	}
	steps := []struct {
		name string
		do   func()
		want float64
	}{
		{"empty queue", func() {}, 0},
		{"one lead waits 90 s", func() { e.inbound("a", "hello"); e.advance(90 * time.Second) }, 90},
		{"a younger priority-5 lead is ahead of it in the queue", func() { e.inbound("b", "delivery?"); e.advance(10 * time.Second) }, 100},
		{"the queue is drained", func() { e.online("anna", "boris") }, 0},
	}
	for _, s := range steps {
		s.do()
		if got := oldest(); got != s.want {
			t.Fatalf("%s: lidorub_oldest_waiting_seconds = %v, want %v", s.name, got, s.want)
		}
	}
}
