//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

// startCluster starts a 3-master Redis Cluster (no replicas) on three free loopback ports
// and waits (bounded) until every node reports cluster_state:ok.
func startCluster(t *testing.T) []*redisServer {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("this test builds a Redis Cluster with redis-cli, which is not on PATH (apt-get install redis-tools)")
	}
	var nodes []*redisServer
	args := []string{"--cluster", "create"}
	for i := 0; i < 3; i++ {
		n := newRedisServer(t, fmt.Sprintf("redis-cluster-%d", i), "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "3000", "--appendonly", "no")
		nodes = append(nodes, n)
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.addr()})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster node %s not ok within 20s: %v %s", n.addr(), err, info)
			}
			time.Sleep(50 * time.Millisecond) // waiting for the cluster to converge
		}
		c.Close()
	}
	return nodes
}

// slotOwner returns the address of the node serving key.
func slotOwner(ctx context.Context, t *testing.T, c *redis.ClusterClient, key string) string {
	t.Helper()
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	slots, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr
		}
	}
	t.Fatalf("no node serves slot %d", slot)
	return ""
}

// The whole pipeline on a 3-master Redis Cluster: two gateways (redis.cluster: true, seeds
// in redis.url), a prefix chosen so that the inbound stream ({P:in}) and the router state
// ({P}) live on different nodes. First one lead is walked through every agent action by
// hand (presence off and on, offer, pass, re-offer, accept, qualify, contacted, close), then
// 150 leads run through the same load as the other failure tests, with lapsing offers and
// first-response timers. Any script touching a key outside its slot would fail with
// CROSSSLOT and show up as a failed lead or a stuck conversation.
func TestPipelineOnRedisCluster(t *testing.T) {
	const leads, rate = 150, 100
	nodes := startCluster(t)
	var seeds []string
	for _, n := range nodes {
		seeds = append(seeds, n.addr())
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	prefix := ""
	var inNode, coreNode string
	for i := 0; i < 200 && prefix == ""; i++ {
		p := redistest.Prefix()
		k := store.NewKeys(p)
		inNode, coreNode = slotOwner(ctx, t, rdb, k.Inbound()), slotOwner(ctx, t, rdb, k.Core("seq"))
		if inNode != coreNode {
			prefix = p
		}
	}
	if prefix == "" {
		t.Fatal("no prefix found whose inbound stream and router state are on different nodes")
	}
	managers := makeManagers(2, 5)
	var gws []*gateway
	for i := 1; i <= 2; i++ {
		gws = append(gws, newGateway(t, gwConfig{Instance: fmt.Sprintf("gw-%d", i), RedisURL: strings.Join(seeds, ","),
			Cluster: true, Prefix: prefix, Managers: managers}))
	}
	f := newFleet(t, rdb, prefix, managers, gws...)
	f.audit(ctx)
	for _, g := range gws {
		g.startReady()
	}

	// One lead by hand, through every agent action.
	m0, m1 := managers[0], managers[1]
	must := func(m manager, method, path string, body any, want int) []byte {
		t.Helper()
		st, b, err := f.call(ctx, m, method, path, body)
		if err != nil || st != want {
			h, _ := rdb.HGetAll(ctx, f.p+"conv:1").Result()
			ev, _ := rdb.XRange(ctx, f.p+"events", "-", "+").Result()
			t.Logf("conversation 1: %v; events: %v", h, ev)
			t.Fatalf("%s %s %s: %d %s %v (want %d)", m.ID, method, path, st, b, err, want)
		}
		return b
	}
	must(m0, http.MethodPut, "/api/v1/managers/m0/status", map[string]bool{"online": true}, http.StatusOK)
	must(m1, http.MethodPut, "/api/v1/managers/m1/status", map[string]bool{"online": false}, http.StatusOK)
	first := f.postLead(ctx, 9999)
	if !first.ok {
		t.Fatalf("first lead: %s", first.lastErr)
	}
	offerOf := func(m manager) apiConv {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var v struct{ Offers []apiConv }
			if err := json.Unmarshal(must(m, http.MethodGet, "/api/v1/managers/"+m.ID+"/conversations", nil, http.StatusOK), &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Offers) > 0 {
				return v.Offers[0]
			}
			time.Sleep(20 * time.Millisecond) // polling the gateway for the offer
		}
		t.Fatalf("%s got no offer within 10s", m.ID)
		return apiConv{}
	}
	c := offerOf(m0)
	must(m0, http.MethodPost, fmt.Sprintf("/api/v1/conversations/%d/pass", c.ID), nil, http.StatusOK)
	must(m1, http.MethodPut, "/api/v1/managers/m1/status", map[string]bool{"online": true}, http.StatusOK)
	c2 := offerOf(m1) // passed by m0: offered to m1 once m1 is online
	if c2.ID != c.ID || c2.OfferSeq <= c.OfferSeq {
		t.Fatalf("after the pass m1 got %+v, want conversation %d with a newer offer than %d", c2, c.ID, c.OfferSeq)
	}
	conv := fmt.Sprintf("/api/v1/conversations/%d", c.ID)
	must(m1, http.MethodPost, conv+"/accept", nil, http.StatusOK)
	must(m1, http.MethodPost, conv+"/qualify", map[string]string{"level": "hot"}, http.StatusOK)
	must(m1, http.MethodPost, conv+"/contacted", nil, http.StatusOK)
	var got struct {
		Conversation struct {
			State, Qualification string
			Replied              bool
		}
		Transcript []json.RawMessage
	}
	if err := json.Unmarshal(must(m1, http.MethodGet, conv, nil, http.StatusOK), &got); err != nil {
		t.Fatal(err)
	}
	if got.Conversation.State != "assigned" || got.Conversation.Qualification != "hot" || !got.Conversation.Replied || len(got.Transcript) < 2 {
		t.Fatalf("conversation after accept, qualify, contacted: %+v", got)
	}
	must(m1, http.MethodPost, conv+"/close", nil, http.StatusOK)

	// Then the load: lapses, first-response timers, two gateways.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var bg sync.WaitGroup
	var handled, maxHeld atomic.Int64
	for _, m := range managers {
		bg.Add(1)
		go func() { defer bg.Done(); f.runManager(runCtx, m, 5, &handled) }()
	}
	bg.Add(1)
	go func() { defer bg.Done(); f.sample(runCtx, 100*time.Millisecond, &maxHeld) }()
	var progress atomic.Int64
	results := append(f.sendLeads(ctx, leads, rate, 8, &progress), first)
	convs := f.waitAllClosed(ctx, leads+1, 60*time.Second)
	stopRun()
	bg.Wait()
	f.violations.report(t)
	f.checkLeads(ctx, results, convs)
	ts := f.checkTimers(ctx)
	if ts.lapsed == 0 {
		t.Errorf("no offer lapsed on the cluster: expire.lua not exercised")
	}
	for _, g := range gws {
		if out := g.output(); strings.Contains(out, "CROSSSLOT") || strings.Contains(out, "level=ERROR") {
			t.Errorf("%s logged errors on the cluster:\n%s", g.name, g.tail(20))
		}
	}
	t.Logf("cluster %v; inbound stream on %s, router state on %s; %d leads closed; %d offers, %d lapsed, %d released, %d timers fired; %d snapshots",
		seeds, inNode, coreNode, len(convs), ts.offers, ts.lapsed, ts.released, ts.fired, f.samples.Load())
}
