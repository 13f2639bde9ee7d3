package router

import "github.com/lidorub/lidorub/store"

// Typed wrappers of the scripts behind the supervisor actions (ops_actions.go); see scripts.go.

// presence.lua with KEYS[8]: a supervisor forces a manager offline.
func (k keys) forceOfflineKeys(mgr string) []string {
	return append(k.presenceKeys(mgr), k.audit())
}

type forceOfflineArgs struct {
	Now        int64 // ms
	Manager    string
	Sales      bool // a sales manager: presence only (see presence.lua)
	Supervisor string
}

func (a forceOfflineArgs) argv() []any {
	return append(presenceArgs{Now: a.Now, Manager: a.Manager, Online: false, Sales: a.Sales}.argv(), a.Supervisor)
}

// reassign.lua: a supervisor offers a lead to a chosen lead-manager.
var reassignScript = script("reassign")

func (k keys) reassignKeys(conv int64, target string) []string {
	return []string{k.conv(conv), k.waiting(), k.timers(), k.events(), k.mgrPrefix(), k.mgr(target), k.mgrConvs(target), k.audit(),
		k.timeline(conv), k.timelineStream()}
}

type reassignArgs struct {
	Now          int64 // ms
	Conv         int64
	Target       string
	OfferTimeout int64 // ms
	Supervisor   string
}

func (a reassignArgs) argv() []any {
	return []any{a.Now, a.Conv, a.Target, a.OfferTimeout, a.Supervisor}
}

// front.lua: a supervisor moves a waiting lead to the head of the queue.
var frontScript = script("front")

func (k keys) frontKeys(conv int64) []string { return []string{k.conv(conv), k.waiting(), k.audit()} }

type frontArgs struct {
	Now        int64 // ms
	Conv       int64
	Supervisor string
}

func (a frontArgs) argv() []any { return []any{a.Now, a.Conv, a.Supervisor} }

// opsclose.lua: a supervisor closes a lead in any open state.
var opsCloseScript = script("opsclose")

func (k keys) opsCloseKeys(conv int64) []string {
	return []string{k.conv(conv), k.log(conv), k.meta(conv), k.lapsed(conv), k.waiting(), k.timers(), k.events(),
		k.mgrPrefix(), k.contactPrefix(), k.expiry(), k.card(conv), k.histPrefix(), k.convPrefix(), k.audit(),
		k.salesWaiting(), k.salesOpen()}
}

type opsCloseArgs struct {
	Now        int64 // ms
	Conv       int64
	Retention  int64 // ms
	Supervisor string
}

func (a opsCloseArgs) argv() []any { return []any{a.Now, a.Conv, a.Retention, a.Supervisor} }

// resend.lua: a supervisor queues a failed outbound message again.
var resendScript = script("resend")

func (k keys) resendKeys(conv int64, outID string) []string {
	return []string{k.out(outID), k.conv(conv), k.outbound(), k.audit()}
}

type resendArgs struct {
	Now        int64 // ms
	Conv       int64
	OutID      string
	Out        string // outbound JSON
	Supervisor string
}

func (a resendArgs) argv() []any { return []any{a.Now, a.Conv, a.OutID, a.Out, a.Supervisor} }

// replay.lua: a dead-lettered entry goes back to its source stream. Its keys are a stream
// and its dead-letter stream (store.DeadLetter): the inbound stream is outside the router's
// slot, so the action's audit entry is written after it.
var replayScript = script("replay")

func replayKeys(source string) []string { return []string{store.DeadLetter(source), source} }

type replayArgs struct{ EntryID string }

func (a replayArgs) argv() []any { return []any{a.EntryID} }
