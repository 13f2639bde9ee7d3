package router

// Typed wrappers of the sales tier's scripts; see scripts.go.

// handoff.lua: every sales-offer decision (handoff, lapse, breach, reject, pick, drain).
var handoffScript = script("handoff")

// salesCand is one sales manager passed to handoff.lua: every configured one, sorted by id.
type salesCand struct {
	ID      string
	Cap     int
	Weight  int
	OnShift bool
}

func (k keys) handoffKeys(cands []salesCand) []string {
	ks := []string{k.convPrefix(), k.salesWaiting(), k.salesOpen(), k.salesRR(), k.salesCW(), k.timers(), k.events(),
		k.ledger(), k.ledgerHead(), k.timelineStream(), k.mgrPrefix()}
	for _, c := range cands {
		ks = append(ks, k.mgr(c.ID), k.mgrConvs(c.ID), k.salesGot(c.ID), k.salesWon(c.ID))
	}
	return ks
}

// Operations of handoff.lua.
const (
	opHandoff = "handoff"
	opDrain   = "drain"
	opLapse   = "lapse"
	opBreach  = "breach"
	opReject  = "reject"
	opPick    = "pick"
	opOffline = "offline"
)

type handoffArgs struct {
	Now        int64 // ms
	Op         string
	Conv       string // conversation id; drain: how many queued leads to look at
	Actor      string
	A5, A6     string // see handoff.lua
	Cfg        *SalesConfig
	Candidates []salesCand
}

func (a handoffArgs) argv() []any {
	c := a.Cfg
	v := []any{a.Now, a.Op, a.Conv, a.Actor, a.A5, a.A6, c.Strategy, c.AcceptTimeout.Milliseconds(),
		c.ConversionWindow.Milliseconds(), c.ConversionPrior.Won, c.ConversionPrior.Leads, c.ConversionFloor,
		c.MaxOffers, len(a.Candidates)}
	for _, s := range a.Candidates {
		v = append(v, s.ID, s.Cap, s.Weight, flag(s.OnShift))
	}
	return v
}

// salesact.lua: accept, contacted, outcome.
var salesActScript = script("salesact")

func (k keys) salesActKeys(conv int64) []string {
	return []string{k.conv(conv), k.timeline(conv), k.timers(), k.events(), k.timelineStream(), k.salesOpen(),
		k.mgrPrefix(), k.salesPrefix()}
}

type salesActArgs struct {
	Now          int64 // ms
	Op           string
	Conv         int64
	Actor        string
	FirstContact int64 // ms
	Privileged   bool
	Result       string
	Amount       string
	Currency     string
	Reason       string
	Source       string
}

func (a salesActArgs) argv() []any {
	return []any{a.Now, a.Op, a.Conv, a.Actor, a.FirstContact, flag(a.Privileged), a.Result, a.Amount, a.Currency,
		a.Reason, a.Source}
}
