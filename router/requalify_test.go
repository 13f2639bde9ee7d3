package router_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/qualify"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// followUpRules: a second message raises a lead to 6, the word delivery to 5 with a tag,
// price to 3, casino is not a lead.
func followUpRules() *qualify.Config {
	p3, p5, p6 := 3, 5, 6
	return &qualify.Config{Rules: []qualify.Rule{
		{Name: "persistent", Messages: qualify.Range{Min: 2}, Priority: &p6, Tags: []string{"persistent"}},
		{Name: "delivery", Keywords: []string{"delivery"}, Priority: &p5, Tags: []string{"logistics"}},
		{Name: "price", Keywords: []string{"price"}, Priority: &p3, Tags: []string{"price"}},
		{Name: "spam", Keywords: []string{"casino"}, NotALead: true, Tags: []string{"spam"}},
	}}
}

func (e *env) offerOrder() []int64 {
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	var ids []int64
	for _, ev := range e.events.evs {
		if ev.Type == router.EventOffer {
			ids = append(ids, ev.ConversationID)
		}
	}
	return ids
}

func TestFollowUpRaisesPriorityAndResortsTheQueue(t *testing.T) {
	e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 10}}, qualify: followUpRules()})
	e.inbound("a", "hello")             // conv 1: priority 0, the oldest
	e.inbound("b", "what is the price") // conv 2: priority 3
	if c := e.conv(1); c.Priority != 0 || len(c.Tags) != 0 {
		t.Fatalf("a first message matched a messages ≥ 2 rule: %+v", c)
	}
	e.inbound("a", "are you there?") // conv 1's second message: persistent → 6
	c := e.conv(1)
	if c.State != router.StateWaiting || c.Priority != 6 || !slices.Equal(c.Tags, []string{"persistent"}) {
		t.Fatalf("after the follow-up: state %s priority %d tags %v", c.State, c.Priority, c.Tags)
	}
	want := []string{"message 2: matched message count 2 (2+) in rule persistent → priority 6, tag persistent"}
	if diff := cmp.Diff(want, c.Explanation); diff != "" {
		t.Fatalf("explanation (-want +got):\n%s", diff)
	}
	// a third message matches the same rule again: nothing new, no second line
	e.inbound("a", "hello??")
	if c := e.conv(1); c.Priority != 6 || len(c.Explanation) != 1 {
		t.Fatalf("a third message repeated the rule: priority %d explanation %q", c.Priority, c.Explanation)
	}
	e.online("anna")
	if diff := cmp.Diff([]int64{1, 2}, e.offerOrder()); diff != "" {
		t.Fatalf("offer order (-want +got):\n%s", diff)
	}
}

func TestFollowUpQualification(t *testing.T) {
	type want struct {
		state string
		prio  int
		tags  []string
		why   []string // substrings, one per explanation line
	}
	tests := []struct {
		name   string
		first  string
		before func(e *env) // after the first message
		second string
		want   want
	}{{
		name: "keyword in the second message adds its tag and explanation", first: "what is the price",
		second: "and delivery to Kazan?",
		want: want{state: router.StateWaiting, prio: 6, tags: []string{"logistics", "persistent", "price"},
			why: []string{"matched «price» in rule price", "message 2: matched message count 2 (2+) in rule persistent",
				"message 2: matched «delivery» in rule delivery → priority 5, tag logistics"}},
	}, {
		name: "a lower rule adds only its tag", first: "delivery please", second: "and the price?",
		// persistent raises 5 → 6; price (3) adds only its tag
		want: want{state: router.StateWaiting, prio: 6, tags: []string{"logistics", "persistent", "price"},
			why: []string{"rule delivery", "rule persistent", "message 2: matched «price» in rule price"}},
	}, {
		name: "offered conversation is raised in place", first: "hello",
		before: func(e *env) { e.online("anna") },
		second: "delivery?",
		want: want{state: router.StateOffered, prio: 6, tags: []string{"logistics", "persistent"},
			why: []string{"rule persistent", "rule delivery"}},
	}, {
		name: "not a lead on a follow-up does not close the lead", first: "hello", second: "casino bonus",
		// the count still raises it; the not-a-lead rule and its tag are ignored
		want: want{state: router.StateWaiting, prio: 6, tags: []string{"persistent"}, why: []string{"rule persistent"}},
	}, {
		name: "qualified warm and given back is not re-qualified", first: "hello",
		before: func(e *env) {
			e.online("anna")
			m := e.take(1)
			if err := e.r.Qualify(e.ctx, 1, m, router.QualWarm); err != nil {
				e.t.Fatal(err)
			}
			if err := e.r.SetOnline(e.ctx, m, false); err != nil { // unanswered: back to the queue
				e.t.Fatal(err)
			}
			e.settle()
		},
		second: "delivery?",
		want:   want{state: router.StateWaiting, prio: 0},
	}, {
		name: "replied conversation is not re-qualified", first: "hello",
		before: func(e *env) {
			e.online("anna")
			m := e.take(1)
			if _, err := e.r.Reply(e.ctx, 1, m, "hi, how can I help?", nil); err != nil {
				e.t.Fatal(err)
			}
			e.settle()
		},
		second: "delivery?",
		want:   want{state: router.StateAssigned, prio: 0},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, opts{managers: []router.Manager{{ID: "anna", Capacity: 10}}, qualify: followUpRules()})
			e.inbound("a", tt.first)
			if tt.before != nil {
				tt.before(e)
			}
			e.inbound("a", tt.second)
			c := e.conv(1)
			if c.State != tt.want.state || c.Priority != tt.want.prio || !slices.Equal(c.Tags, tt.want.tags) || c.Spam {
				t.Fatalf("state %s priority %d tags %v spam %v, want %s %d %v", c.State, c.Priority, c.Tags, c.Spam,
					tt.want.state, tt.want.prio, tt.want.tags)
			}
			// the first message's lines stay, the follow-up's come after them
			if len(c.Explanation) != len(tt.want.why) {
				t.Fatalf("explanation %q, want lines with %q", c.Explanation, tt.want.why)
			}
			for i, w := range tt.want.why {
				if !strings.Contains(c.Explanation[i], w) {
					t.Fatalf("explanation line %d %q, want %q (all: %q)", i, c.Explanation[i], w, c.Explanation)
				}
			}
			if tt.want.state == router.StateWaiting {
				n, err := e.rdb.ZScore(e.ctx, e.keys.Core("waiting"), "1").Result()
				if err != nil {
					t.Fatalf("conversation not in the queue: %v", err)
				}
				if got := 9 - int(n/1e13); got != tt.want.prio {
					t.Fatalf("queue score priority %d, want %d", got, tt.want.prio)
				}
			}
		})
	}
}

// An instance that applied a follow-up (process.lua) and died before its re-qualification:
// the redelivered entry is a duplicate, and is re-qualified all the same, once.
func TestFollowUpRequalifiedOnRedelivery(t *testing.T) {
	e := newEnv(t, opts{qualify: followUpRules()})
	e.inbound("a", "hello")
	e.inbound("a", "delivery?")
	// undo what requalify.lua did: as if it never ran
	ck := e.keys.Core("conv", "1")
	if err := e.rdb.HSet(e.ctx, ck, "prio", 0, "tags", "").Err(); err != nil {
		t.Fatal(err)
	}
	e.rdb.HDel(e.ctx, ck, "rq")
	e.rdb.Del(e.ctx, e.keys.Core("conv", "1", "card"))
	e.rdb.ZAdd(e.ctx, e.keys.Core("waiting"), redis.Z{Score: 9e13, Member: "1"})
	msgs, err := e.rdb.XRevRangeN(e.ctx, e.keys.Inbound(), "+", "-", 1).Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("inbound stream: %v %v", msgs, err)
	}
	for range 2 { // the second redelivery changes nothing more
		if err := e.r.HandleInbound(e.ctx, store.Entry{Stream: e.keys.Inbound(), ID: msgs[0].ID, Values: msgs[0].Values}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.conv(1)
	if c.Priority != 6 || !slices.Equal(c.Tags, []string{"logistics", "persistent"}) || len(c.Explanation) != 2 {
		t.Fatalf("after redelivery: priority %d tags %v explanation %q", c.Priority, c.Tags, c.Explanation)
	}
	if n := len(e.transcriptOf(1)); n != 3 { // hello, the acknowledgement, delivery?
		t.Fatalf("transcript has %d lines, want 3: each message once", n)
	}
	if s, _ := e.rdb.ZScore(e.ctx, e.keys.Core("waiting"), "1").Result(); s >= 9e13 {
		t.Fatalf("queue score %v not raised", s)
	}
}
