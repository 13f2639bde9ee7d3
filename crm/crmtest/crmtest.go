// Package crmtest gives the CRM connectors' tests a recording implementation of crm.Leads and
// crm.Alerter, a harness on real Redis, and a writer of {P}:timeline entries in the shape
// router/lua/lib.lua's timeline() writes them (c, s, m, x, at).
package crmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

// T0 is the harness's start time.
var T0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Outcome is one RecordOutcome call.
type Outcome struct {
	Conv    int64
	Manager string
	router.Outcome
}

// CRMEntry is one RecordCRM call.
type CRMEntry struct {
	Conv            int64
	CRM, ID, Status string
}

// Leads records what a connector does to leads. Conversations and transcripts are set by the test.
type Leads struct {
	mu         sync.Mutex
	Convs      map[int64]*router.Conversation
	Msgs       map[int64][]router.Message
	outcomes   []Outcome
	crm        []CRMEntry
	OutcomeErr error // returned by RecordOutcome when set
}

// NewLeads returns an empty recorder.
func NewLeads() *Leads {
	return &Leads{Convs: map[int64]*router.Conversation{}, Msgs: map[int64][]router.Message{}}
}

// Add adds a conversation (and its transcript).
func (l *Leads) Add(c router.Conversation, msgs ...router.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Convs[c.ID] = &c
	l.Msgs[c.ID] = msgs
}

// Erase removes a conversation.
func (l *Leads) Erase(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.Convs, id)
	delete(l.Msgs, id)
}

func (l *Leads) Conversation(ctx context.Context, id int64) (*router.Conversation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.Convs[id]
	if !ok {
		return nil, router.ErrNotFound
	}
	cp := *c
	return &cp, nil
}

func (l *Leads) Transcript(ctx context.Context, id int64, limit int) ([]router.Message, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.Convs[id]; !ok {
		return nil, router.ErrNotFound
	}
	m := l.Msgs[id]
	if limit > 0 && len(m) > limit {
		m = m[len(m)-limit:]
	}
	return append([]router.Message(nil), m...), nil
}

func (l *Leads) RecordOutcome(ctx context.Context, id int64, managerID string, o router.Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.OutcomeErr != nil {
		return l.OutcomeErr
	}
	if _, ok := l.Convs[id]; !ok {
		return router.ErrNotFound
	}
	l.outcomes = append(l.outcomes, Outcome{Conv: id, Manager: managerID, Outcome: o})
	return nil
}

func (l *Leads) RecordCRM(ctx context.Context, id int64, name, crmID, status string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.crm = append(l.crm, CRMEntry{Conv: id, CRM: name, ID: crmID, Status: status})
	return nil
}

// Outcomes returns the recorded outcomes.
func (l *Leads) Outcomes() []Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Outcome(nil), l.outcomes...)
}

// CRM returns the recorded crm timeline entries.
func (l *Leads) CRM() []CRMEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]CRMEntry(nil), l.crm...)
}

// Alerts records alerts.
type Alerts struct {
	mu   sync.Mutex
	list []string
}

func (a *Alerts) Alert(ctx context.Context, channel, account, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, channel+"|"+account+"|"+reason)
	return nil
}

// List returns the alerts raised.
func (a *Alerts) List() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.list...)
}

// Env is a connector test's world: real Redis under a unique prefix, a fake clock, the
// recorders and a metrics registry.
type Env struct {
	T      testing.TB
	Ctx    context.Context
	Redis  *redis.Client
	Keys   store.Keys
	Clock  *clock.Fake
	Leads  *Leads
	Alerts *Alerts
	Reg    *prometheus.Registry
	Logs   *testlog.Buffer // everything the connector logged
	log    *slog.Logger
}

// New returns a fresh Env.
func New(t testing.TB) *Env {
	rdb, prefix := redistest.New(t)
	log, buf := testlog.Capture()
	return &Env{T: t, Ctx: context.Background(), Redis: rdb, Keys: store.NewKeys(prefix), Clock: clock.NewFake(T0),
		Leads: NewLeads(), Alerts: &Alerts{}, Reg: prometheus.NewRegistry(), Logs: buf, log: log}
}

// Deps returns crm.Deps on the Env; metrics for names are registered on Reg.
func (e *Env) Deps(names ...string) crm.Deps {
	return crm.Deps{Redis: e.Redis, Keys: e.Keys, Clock: e.Clock, Log: e.log, Leads: e.Leads,
		Alerter: e.Alerts, Metrics: crm.NewMetrics(e.Reg, names...), Instance: "test"}
}

// Timeline appends an entry to {P}:timeline exactly as lib.lua's timeline() does: fields c
// (conversation id), s (stage), m (manager or ""), x (JSON of extra fields or ""), at (ms).
func (e *Env) Timeline(conv int64, stage, manager string, extra map[string]string) {
	e.T.Helper()
	xs := ""
	if len(extra) > 0 {
		b, _ := json.Marshal(extra)
		xs = string(b)
	}
	err := e.Redis.XAdd(e.Ctx, &redis.XAddArgs{Stream: e.Keys.Core("timeline"), Values: []any{
		"c", fmt.Sprint(conv), "s", stage, "m", manager, "x", xs, "at", fmt.Sprint(e.Clock.Now().UnixMilli()),
	}}).Err()
	if err != nil {
		e.T.Fatalf("xadd timeline: %v", err)
	}
}
