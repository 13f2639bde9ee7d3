package router

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// queueBand is the width of one priority band of the waiting queue's score:
// score = (9-priority)*queueBand + first inbound ms (qscore in lua/lib.lua).
const queueBand = 1e13

// AgeCollector reads, at scrape time, how long the longest-waiting conversation of the queue
// has waited since its customer's first message (lidorub_oldest_waiting_seconds, 0 when the
// queue is empty). The queue is ordered by priority first, so the oldest conversation is the
// first of one of the ten priority bands: one pipelined ZRANGEBYSCORE ... LIMIT 0 1 per band.
// Register it on the same registry as Collector.
type AgeCollector struct {
	b      *base
	oldest *prometheus.Desc
}

// AgeCollector returns the scrape-time collector of the queue's oldest waiting age.
func (r *Router) AgeCollector() *AgeCollector {
	return &AgeCollector{b: r.b, oldest: prometheus.NewDesc("lidorub_oldest_waiting_seconds",
		"Seconds since the first inbound message of the longest-waiting conversation in the queue (0 when the queue is empty).", nil, nil)}
}

// Describe implements prometheus.Collector.
func (c *AgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.oldest }

// Collect implements prometheus.Collector. Nothing is reported when Redis does not answer
// (lidorub_redis_up says so).
func (c *AgeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	first, err := c.OldestFirstInbound(ctx)
	if err == nil {
		age := 0.0
		if !first.IsZero() {
			age = max(0, c.b.clock.Now().Sub(first).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	}
}

// OldestFirstInbound returns the first inbound time of the longest-waiting queued
// conversation, or the zero time when the queue is empty.
func (c *AgeCollector) OldestFirstInbound(ctx context.Context) (time.Time, error) {
	p := c.b.rdb.Pipeline()
	cmds := make([]*redis.ZSliceCmd, 10)
	for band := range cmds {
		lo := float64(band) * queueBand
		cmds[band] = p.ZRangeByScoreWithScores(ctx, c.b.keys.waiting(), &redis.ZRangeBy{
			Min: strconv.FormatFloat(lo, 'f', 0, 64), Max: "(" + strconv.FormatFloat(lo+queueBand, 'f', 0, 64), Count: 1})
	}
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return time.Time{}, err
	}
	oldest := int64(0)
	for band, cmd := range cmds {
		zs, err := cmd.Result()
		if err != nil || len(zs) == 0 {
			continue
		}
		ms := int64(zs[0].Score - float64(band)*queueBand)
		if oldest == 0 || ms < oldest {
			oldest = ms
		}
	}
	if oldest == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(oldest), nil
}
