package router

// Typed wrappers of the scripts behind the Desk (manager actions); see scripts.go.

// presence.lua: a lead-manager goes online or offline.
var presenceScript = script("presence")

func (k keys) presenceKeys(mgr string) []string {
	return []string{k.mgr(mgr), k.mgrConvs(mgr), k.waiting(), k.timers(), k.events(), k.convPrefix(), k.timelineStream()}
}

type presenceArgs struct {
	Now     int64 // ms
	Manager string
	Online  bool
	Sales   bool // a sales manager: presence only
}

func (a presenceArgs) argv() []any { return []any{a.Now, a.Manager, flag(a.Online), flag(a.Sales)} }

// accept.lua: a lead-manager takes an offer.
var acceptScript = script("accept")

func (k keys) acceptKeys(conv int64, mgr string) []string {
	return []string{k.conv(conv), k.timers(), k.mgrConvs(mgr), k.events(), k.timeline(conv), k.timelineStream()}
}

type acceptArgs struct {
	Now           int64 // ms
	Conv          int64
	Manager       string
	FirstResponse int64 // SLA, ms
}

func (a acceptArgs) argv() []any { return []any{a.Now, a.Conv, a.Manager, a.FirstResponse} }

// pass.lua: a lead-manager declines an offer.
var passScript = script("pass")

func (k keys) passKeys(conv int64, mgr string) []string {
	return []string{k.conv(conv), k.lapsed(conv), k.waiting(), k.timers(), k.events(), k.mgr(mgr), k.mgrConvs(mgr),
		k.timeline(conv), k.timelineStream()}
}

type passArgs struct {
	Now     int64 // ms
	Conv    int64
	Manager string
}

func (a passArgs) argv() []any { return []any{a.Now, a.Conv, a.Manager} }

// outseq.lua: the next number of a conversation's outbound messages (no ARGV).
var outSeqScript = script("outseq")

func (k keys) outSeqKeys(conv int64) []string { return []string{k.conv(conv)} }

// reply.lua: a human reply, or a form lead marked contacted.
var replyScript = script("reply")

func (k keys) replyKeys(conv int64) []string {
	return []string{k.conv(conv), k.log(conv), k.timers(), k.outbound(), k.timeline(conv), k.timelineStream()}
}

type replyArgs struct {
	Now     int64 // ms
	Conv    int64
	Manager string
	Line    string // transcript line JSON
	Out     string // outbound JSON, "" = nothing to send (contacted)
	Limit   int    // transcript limit
}

func (a replyArgs) argv() []any { return []any{a.Now, a.Conv, a.Manager, a.Line, a.Out, a.Limit} }

// qualify.lua: hot, warm or tourist.
var qualifyScript = script("qualify")

func (k keys) qualifyKeys(conv int64) []string {
	return []string{k.conv(conv), k.events(), k.timeline(conv), k.timelineStream()}
}

type qualifyArgs struct {
	Now     int64 // ms
	Conv    int64
	Manager string
	Level   string
	Handed  bool // mark hot and warm handed off (no sales tier configured)
}

func (a qualifyArgs) argv() []any { return []any{a.Now, a.Conv, a.Manager, a.Level, flag(a.Handed)} }

// close.lua: closes a conversation assigned to the manager.
var closeScript = script("close")

func (k keys) closeKeys(conv int64, mgr string) []string {
	return []string{k.conv(conv), k.log(conv), k.meta(conv), k.lapsed(conv), k.mgr(mgr), k.mgrConvs(mgr),
		k.timers(), k.outbound(), k.events(), k.contactPrefix(), k.expiry(), k.card(conv), k.histPrefix(), k.convPrefix(),
		k.timeline(conv), k.timelineStream(), k.mgrPrefix(), k.salesWaiting(), k.salesOpen()}
}

type closeArgs struct {
	Now       int64 // ms
	Conv      int64
	Manager   string
	Out       string // closing message's outbound JSON, "" = none
	Line      string // its transcript line
	Limit     int    // transcript limit
	Retention int64  // ms
}

func (a closeArgs) argv() []any {
	return []any{a.Now, a.Conv, a.Manager, a.Out, a.Line, a.Limit, a.Retention}
}

// erase.lua: deletes a conversation on request.
var eraseScript = script("erase")

func (k keys) eraseKeys(conv int64, salesIDs []string) []string {
	ks := []string{k.conv(conv), k.log(conv), k.meta(conv), k.lapsed(conv), k.waiting(), k.timers(), k.events(),
		k.mgrPrefix(), k.contactPrefix(), k.expiry(), k.forget(), k.card(conv), k.histPrefix(), k.convPrefix(),
		k.timeline(conv), k.leads(), k.salesWaiting(), k.salesOpen(), k.salesSkip(conv)}
	for _, id := range salesIDs {
		ks = append(ks, k.salesGot(id), k.salesWon(id))
	}
	return ks
}

type eraseArgs struct {
	Now       int64 // ms
	Conv      int64
	Retention int64 // ms
	// AbandonedBefore: erase only an open conversation inactive since before it (ms; 0 = any)
	AbandonedBefore int64
}

func (a eraseArgs) argv() []any {
	if a.AbandonedBefore > 0 {
		return []any{a.Now, a.Conv, a.Retention, a.AbandonedBefore}
	}
	return []any{a.Now, a.Conv, a.Retention}
}

// correct.lua: corrects a contact's name, phone or e-mail in every conversation of it.
var correctScript = script("correct")

// correctKeys: newContactID "" = the contact id is unchanged.
func (k keys) correctKeys(ch, acct, contactID, newContactID string) []string {
	if newContactID == "" {
		newContactID = contactID
	}
	return []string{k.histContact(ch, acct, k.contactPseudonym(contactID)), k.contact(ch, acct, contactID),
		k.convPrefix(), k.histPrefix(), k.forget(),
		k.histContact(ch, acct, k.contactPseudonym(newContactID)), k.contact(ch, acct, newContactID),
		k.timelineStream()}
}

type correctArgs struct {
	Now              int64 // ms
	Channel, Account string
	Contact          string
	Manager          string // "" = a supervisor
	SetName          bool
	Name             string
	SetPhone         bool
	Phone, PhoneHash string
	SetEmail         bool
	Email, EmailHash string
	Lines            string // JSON array of transcript lines
	Limit            int    // transcript limit
	Retention        int64  // ms
	NewContact       string // "" = the contact id is unchanged
	NewContactHash   string // its pseudonym
}

func (a correctArgs) argv() []any {
	return []any{a.Now, a.Channel, a.Account, a.Contact, a.Manager, flag(a.SetName), a.Name,
		flag(a.SetPhone), a.Phone, a.PhoneHash, flag(a.SetEmail), a.Email, a.EmailHash, a.Lines, a.Limit, a.Retention,
		a.NewContact, a.NewContactHash}
}
