package router

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lidorub/lidorub/store"
)

// Collector reads queue, manager and stream gauges from Redis at scrape time, so every
// instance reports the shared truth.
type Collector struct {
	b        *base
	team     *team
	waiting  *prometheus.Desc
	managers *prometheus.Desc
	load     *prometheus.Desc
	pending  *prometheus.Desc
	length   *prometheus.Desc
	dead     *prometheus.Desc
	up       *prometheus.Desc
}

// Collector returns the scrape-time collector; register it on the same registry as the metrics.
func (r *Router) Collector() *Collector {
	return &Collector{
		b: r.b, team: r.team,
		waiting: prometheus.NewDesc("lidorub_waiting_conversations",
			"Conversations in the queue waiting for a free lead-manager.", nil, nil),
		managers: prometheus.NewDesc("lidorub_managers",
			"Lead-managers by state: online (free), busy (online at capacity), off_shift (online outside their shifts), offline.", []string{"state"}, nil),
		load: prometheus.NewDesc("lidorub_manager_open_conversations",
			"Open (offered + assigned) conversations per lead-manager.", []string{"manager"}, nil),
		pending: prometheus.NewDesc("lidorub_stream_pending",
			"Stream entries delivered to a consumer and not yet acknowledged.", []string{"stream"}, nil),
		length: prometheus.NewDesc("lidorub_stream_length",
			"Stream entries kept (acknowledged entries are trimmed every 30 s).", []string{"stream"}, nil),
		dead: prometheus.NewDesc("lidorub_stream_dead_letter",
			"Entries in a stream's dead-letter stream.", []string{"stream"}, nil),
		up: prometheus.NewDesc("lidorub_redis_up", "1 if Redis answered the last scrape.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.waiting, c.managers, c.load, c.pending, c.length, c.dead, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := c.b
	waiting, err := r.rdb.ZCard(ctx, r.keys.waiting()).Result()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(waiting))
	states := map[string]float64{"online": 0, "busy": 0, "off_shift": 0, "offline": 0}
	now := r.clock.Now()
	for i := range c.team.managers {
		m := &c.team.managers[i]
		if m.Role != RoleLead {
			continue
		}
		h, err := r.rdb.HMGet(ctx, r.keys.mgr(m.ID), "online", "load").Result()
		if err != nil {
			return
		}
		online := h[0] == "1"
		load := 0
		if s, ok := h[1].(string); ok {
			load, _ = strconv.Atoi(s)
		}
		switch {
		case !online:
			states["offline"]++
		case !m.OnShift(now):
			states["off_shift"]++
		case load >= m.Capacity:
			states["busy"]++
		default:
			states["online"]++
		}
		ch <- prometheus.MustNewConstMetric(c.load, prometheus.GaugeValue, float64(load), m.ID)
	}
	for s, v := range states {
		ch <- prometheus.MustNewConstMetric(c.managers, prometheus.GaugeValue, v, s)
	}
	for name, s := range map[string][2]string{
		"inbound": {r.keys.Inbound(), groupRouter}, "timers": {r.keys.fired(), groupRouter},
		"events": {r.keys.events(), groupNotify}, "outbound": {r.keys.outbound(), groupSend},
	} {
		p, _ := store.PendingCount(ctx, r.rdb, s[0], s[1])
		n, _ := r.rdb.XLen(ctx, s[0]).Result()
		d, _ := r.rdb.XLen(ctx, store.DeadLetter(s[0])).Result()
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(p), name)
		ch <- prometheus.MustNewConstMetric(c.length, prometheus.GaugeValue, float64(n), name)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(d), name)
	}
}
