package router

import "encoding/json"

// Typed wrappers of the scripts run by the background workers (inbound, offers, timers,
// outbound); see scripts.go.

// process.lua: applies one inbound customer item to its conversation.
var processScript = script("process")

// processKeys: online are the presence keys (keys.mgr) of the lead-managers on shift in
// nobody_online mode (nil otherwise).
func (k keys) processKeys(entryID, ch, acct, contactID string, online []string) []string {
	return append([]string{k.done(entryID), k.contact(ch, acct, contactID), k.seq(), k.waiting(), k.outbound(), k.events(),
		k.convPrefix(), k.expiry(), k.histPrefix(), k.timelineStream(), k.leads()}, online...)
}

type processArgs struct {
	Now         int64 // ms
	DoneTTL     int64 // ms
	Kind        string
	Channel     string
	Account     string
	ContactID   string
	Line        string // transcript line JSON
	Limit       int    // transcript limit
	Name        string
	Phone       string
	Email       string
	Source      string
	Meta        string // JSON, "" = none
	Priority    int
	Tags        string // comma-separated
	Spam        bool
	FirstIn     int64  // ms
	AckKind     string // "" = no automatic reply
	AckOut      string // its outbound JSON with "__CID__" placeholders
	AckLine     string // its transcript line JSON
	Retention   int64  // ms
	OrigID      string // edit/delete: the channel id of the original message ("" otherwise)
	Patch       string // edit/delete: JSON fields to set on the original's transcript line
	Unset       string // edit/delete: comma-separated fields to remove from it
	PhoneHash   string // pseudonym of the E.164 phone ("" = none)
	EmailHash   string // pseudonym of the lower-cased e-mail ("" = none)
	Why         string // qualification explanation, JSON list of lines ("" = none)
	OffOut      string // nobody_online: the off-hours reply's outbound JSON, sent instead of AckOut when nobody on shift is online
	OffLine     string // its transcript line
	PreChat     prechatArgs
	ContactHash string // pseudonym of the contact id (its contact index)
}

func (a processArgs) argv() []any {
	return []any{a.Now, a.DoneTTL, a.Kind, a.Channel, a.Account, a.ContactID, a.Line, a.Limit,
		a.Name, a.Phone, a.Email, a.Source, a.Meta, a.Priority, a.Tags, flag(a.Spam), a.FirstIn,
		a.AckKind, a.AckOut, a.AckLine, a.Retention, a.OrigID, a.Patch, a.Unset, a.PhoneHash, a.EmailHash, a.Why, a.OffOut, a.OffLine,
		a.PreChat.Questions, a.PreChat.Texts, a.PreChat.Out, a.PreChat.Line, a.PreChat.Answer, a.PreChat.Phone, a.PreChat.PhoneHash,
		a.ContactHash}
}

// assign.lua: offers waiting conversations to free lead-managers.
var assignScript = script("assign")

// candidate is a lead-manager on shift, offered work by assign.lua when free.
type candidate struct {
	ID       string
	Capacity int
}

func (k keys) assignKeys(cands []candidate) []string {
	ks := []string{k.waiting(), k.rr(), k.timers(), k.events(), k.convPrefix(), k.timelineStream()}
	for _, c := range cands {
		ks = append(ks, k.mgr(c.ID), k.mgrConvs(c.ID))
	}
	return ks
}

type assignArgs struct {
	Now          int64 // ms
	Strategy     string
	OfferTimeout int64 // ms
	Scan         int   // queued conversations to look at
	Candidates   []candidate
}

func (a assignArgs) argv() []any {
	v := []any{a.Now, a.Strategy, a.OfferTimeout, a.Scan, len(a.Candidates)}
	for _, c := range a.Candidates {
		v = append(v, c.ID, c.Capacity)
	}
	return v
}

// forward.lua: moves due timers to the fired stream.
var forwardScript = script("forward")

func (k keys) forwardKeys() []string { return []string{k.timers(), k.fired()} }

type forwardArgs struct {
	Now   int64 // ms
	Batch int
}

func (a forwardArgs) argv() []any { return []any{a.Now, a.Batch} }

// expire.lua: a fired speed-to-lead timer.
var expireScript = script("expire")

func (k keys) expireKeys(conv int64) []string {
	return []string{k.conv(conv), k.lapsed(conv), k.waiting(), k.timers(), k.events(), k.mgrPrefix(),
		k.timeline(conv), k.timelineStream()}
}

type expireArgs struct {
	Now       int64  // ms
	Kind      string // o (offer) | r (first reply)
	Conv      int64
	Seq       string // offer seq of the timer
	MaxOffers int
}

func (a expireArgs) argv() []any { return []any{a.Now, a.Kind, a.Conv, a.Seq, a.MaxOffers} }

// delivered.lua: the channel accepted an outbound message.
var deliveredScript = script("delivered")

func (k keys) deliveredKeys(conv int64, outID, ch, acct, channelMsgID string) []string {
	return []string{k.out(outID), k.outref(ch, acct, channelMsgID), k.conv(conv), k.timeline(conv), k.timelineStream()}
}

type deliveredArgs struct {
	Now          int64 // ms
	Conv         int64
	OutID        string
	Human        bool
	ChannelMsgID string // "" if none
	Manager      string
	RefTTL       int64 // ms
	Pending      bool  // the customer has not received it yet (SendResult.Pending)
}

func (a deliveredArgs) argv() []any {
	return []any{a.Now, a.Conv, a.OutID, flag(a.Human), a.ChannelMsgID, a.Manager, a.RefTTL, flag(a.Pending)}
}

// failed.lua: an outbound message failed for good.
var failedScript = script("failed")

func (k keys) failedKeys(conv int64, outID string) []string {
	return []string{k.out(outID), k.conv(conv), k.log(conv), k.events()}
}

type failedArgs struct {
	Now     int64 // ms
	Conv    int64
	OutID   string
	Manager string // "" = automatic message
	Reason  string // safe to show
	Line    string // transcript line JSON
	Limit   int    // transcript limit
	RefTTL  int64  // ms
}

func (a failedArgs) argv() []any {
	return []any{a.Now, a.Conv, a.OutID, a.Manager, a.Reason, a.Line, a.Limit, a.RefTTL}
}

// call.lua: a phone call with the customer (after process.lua for the customer's own call).
var callScript = script("call")

func (k keys) callKeys(entryID, ch, acct, contactID string) []string {
	return []string{k.doneCall(entryID), k.contact(ch, acct, contactID), k.waiting(), k.timers(), k.events(),
		k.convPrefix(), k.mgrPrefix(), k.timelineStream()}
}

type callArgs struct {
	Now         int64  // ms
	DoneTTL     int64  // ms
	Line        string // transcript line JSON, "" = none (process.lua wrote the customer's call)
	Limit       int    // transcript limit
	Connected   bool
	Manager     string // "" = unknown
	ConnectedAt int64  // ms
}

func (a callArgs) argv() []any {
	return []any{a.Now, a.DoneTTL, a.Line, a.Limit, flag(a.Connected), a.Manager, a.ConnectedAt}
}

// retire.lua: erases closed conversations whose retention ran out.
var retireScript = script("retire")

func (k keys) retireKeys() []string {
	return []string{k.expiry(), k.forget(), k.convPrefix(), k.histPrefix(), k.leads(), k.salesOpen()}
}

type retireArgs struct {
	Now   int64 // ms
	Batch int
}

func (a retireArgs) argv() []any { return []any{a.Now, a.Batch} }

// defer.lua: acknowledges a rate-limited outbound entry and keeps it until its deadline.
var deferScript = script("defer")

func (k keys) deferKeys() []string { return []string{k.outbound(), k.deferred()} }

type deferArgs struct {
	Group     string
	EntryID   string
	Due       int64 // ms
	Deferrals int   // this one included
	Out       string
}

func (a deferArgs) argv() []any { return []any{a.Group, a.EntryID, a.Due, a.Deferrals, a.Out} }

// undefer.lua: re-queues deferred outbound messages that are due.
var undeferScript = script("undefer")

func (k keys) undeferKeys() []string { return []string{k.deferred(), k.outbound()} }

type undeferArgs struct {
	Now   int64 // ms
	Batch int
}

func (a undeferArgs) argv() []any { return []any{a.Now, a.Batch} }

// requalify.lua: raises the priority and tags of a conversation waiting for a human on a
// follow-up customer message.
var requalifyScript = script("requalify")

func (k keys) requalifyKeys(conv int64) []string {
	return []string{k.conv(conv), k.card(conv), k.waiting()}
}

// requalifyRule is one matched rule as requalify.lua reads it.
type requalifyRule struct {
	Line string   `json:"line"` // the explanation sentence for the lead card
	Prio int      `json:"prio"` // 0..9, -1 = the rule sets none
	Tags []string `json:"tags"`
}

type requalifyArgs struct {
	Conv  int64
	Count int             // the message's count among the customer's messages
	Rules []requalifyRule // matched rules, in configuration order
}

func (a requalifyArgs) argv() []any {
	b, _ := json.Marshal(a.Rules)
	return []any{a.Conv, a.Count, string(b)}
}
