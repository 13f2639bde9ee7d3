package router

import (
	"strconv"

	"github.com/lidorub/lidorub/store"
)

// Router keys, all under the hash tag {P} (P = redis.prefix):
//
//	{P}:seq                         conversation id counter
//	{P}:conv:<id>                   hash: one conversation (decodeConversation in conversations.go); the sales
//	                                tier's fields: lm, sstate, smgr, soffer_to, sseq, soffers, sesc, soffered, hnote,
//	                                handed_at, saccepted, contacted, sreject, outcome, amount, currency, loss_reason,
//	                                outcome_at, outcome_by, outcome_src
//	{P}:conv:<id>:log               list: transcript, JSON lines, capped at router.transcript_limit
//	{P}:conv:<id>:meta              string: the channel's meta of the first message (JSON), kept out of the hash
//	{P}:conv:<id>:lapsed            set: managers who let the current round's offers lapse
//	{P}:conv:<id>:card              hash: lead card context: why (qualification explanation, JSON
//	                                list), q:<question> (pre-chat answers)
//	{P}:contact:<ch>:<acct>:<id>    string: the open conversation of a contact
//	{P}:hist:c:<ch>:<acct>:<ps>     zset: a contact's conversations on one channel account, score = created ms;
//	                                <ps> = Pseudonym(contact id) (conversation field hc)
//	{P}:hist:p:<ps>                 zset: the conversations with one phone number, <ps> = Pseudonym("phone:"+E.164) (field ph)
//	{P}:hist:e:<ps>                 zset: the conversations with one e-mail address, <ps> = Pseudonym("email:"+lower-cased) (field eh)
//	{P}:waiting                     zset: queue, score = (9-priority)*1e13 + first inbound ms
//	{P}:mgr:<id>                    hash: online, since, load (offered+assigned; a sales manager: offered+accepted+contacted),
//	                                last_offer, returned (a lead-manager: leads sales sent back as not a lead)
//	{P}:mgr:<id>:convs              zset: the manager's offered and assigned conversations
//	{P}:rr                          string: last manager offered (round_robin)
//	{P}:timers                      zset: member "o|<conv>|<seq>" (offer) or "r|<conv>|<seq>" (first reply), score = deadline ms
//	{P}:fired                       stream: timers moved here when due (consumer group "router")
//	{P}:events                      stream: notifications for managers (consumer group "notify")
//	{P}:outbound                    stream: messages to customers (consumer group "send")
//	{P}:conv:<id>:tl                list: the lead's timeline, JSON {s, at, m, x} (timeline in lua/lib.lua)
//	{P}:timeline                    stream: every timeline entry of every lead (c, s, m, x, at): ids only, for consumers
//	{P}:leads                       zset: every lead, score = created ms (funnel report by period)
//	{P}:ledger                      stream: the fairness ledger, one entry per sales-offer decision (package ledger)
//	{P}:ledger:head                 hash: seq, hash of the newest ledger entry
//	{P}:conv:<id>:sskip             hash: sales managers who cannot be offered this lead now: id -> lapsed | rejected
//	                                (lapsed entries end with the round, see handoff.lua)
//	{P}:sales:waiting               zset: handed-off leads nobody could be offered, score = handed-off ms
//	{P}:sales:open                  zset: handed-off leads without an outcome, score = handed-off ms (stale report)
//	{P}:sales:rr                    string: round_robin pointer, the last chosen sales manager id
//	{P}:sales:cw                    hash: sales manager id -> current weight (weighted, best_conversion)
//	{P}:sales:got:<id>              zset: leads the sales manager accepted, score = accepted ms (best_conversion)
//	{P}:sales:won:<id>              zset: leads the sales manager won, score = won ms (best_conversion)
//	                                (a sales manager's load and index are {P}:mgr:<id> and {P}:mgr:<id>:convs;
//	                                timers "sa|<conv>|<sseq>" accept, "sc|<conv>|<sseq>" first contact)
//	{P}:audit                       stream: supervisor actions (who, what, which lead/manager), ids only
//	{P}:expiry                      zset: closed conversations, score = end of retention ms (retire.lua)
//	{P}:forget                      zset: forget jobs of erased conversations (and of corrected contacts, c ""), JSON {c, ch, a, k} (forget.go)
//	{P}:deferred                    zset: rate-limited outbound, "<deferrals>|<outbound JSON>", score = due ms
//	{P}:done:<entry id>             string: an inbound entry already applied (idempotency)
//	{P}:done:<entry id>:call        string: a phone call's contact already applied (call.lua)
//	{P}:out:<outbound id>           string: sent | failed | delivered | read
//	{P}:outref:<ch>:<acct>:<ps>     string: "<conv>|<outbound id>|<manager>" for delivery statuses;
//	                                <ps> = Pseudonym(channel message id): Telegram's holds the chat id
//
// Scripts get these keys as KEYS (see lua/lib.lua); the *Prefix functions give the part of a
// key before an id a script reads itself.
type keys struct{ store.Keys }

func newKeys(k store.Keys) keys { return keys{Keys: k} }

func i64s(v int64) string { return strconv.FormatInt(v, 10) }

func (k keys) seq() string                { return k.Core("seq") }
func (k keys) waiting() string            { return k.Core("waiting") }
func (k keys) timers() string             { return k.Core("timers") }
func (k keys) fired() string              { return k.Core("fired") }
func (k keys) events() string             { return k.Core("events") }
func (k keys) outbound() string           { return k.Core("outbound") }
func (k keys) rr() string                 { return k.Core("rr") }
func (k keys) expiry() string             { return k.Core("expiry") }
func (k keys) forget() string             { return k.Core("forget") }
func (k keys) deferred() string           { return k.Core("deferred") }
func (k keys) done(entryID string) string { return k.Core("done", entryID) }
func (k keys) conv(c int64) string        { return k.Core("conv", i64s(c)) }
func (k keys) log(c int64) string         { return k.Core("conv", i64s(c), "log") }
func (k keys) meta(c int64) string        { return k.Core("conv", i64s(c), "meta") }
func (k keys) lapsed(c int64) string      { return k.Core("conv", i64s(c), "lapsed") }
func (k keys) card(c int64) string        { return k.Core("conv", i64s(c), "card") }
func (k keys) timeline(c int64) string    { return k.Core("conv", i64s(c), "tl") }
func (k keys) timelineStream() string     { return k.Core("timeline") }
func (k keys) leads() string              { return k.Core("leads") }
func (k keys) ledger() string             { return k.Core("ledger") }
func (k keys) ledgerHead() string         { return k.Core("ledger", "head") }
func (k keys) audit() string              { return k.Core("audit") }
func (k keys) salesSkip(c int64) string   { return k.Core("conv", i64s(c), "sskip") }
func (k keys) salesWaiting() string       { return k.Core("sales", "waiting") }
func (k keys) salesOpen() string          { return k.Core("sales", "open") }
func (k keys) salesRR() string            { return k.Core("sales", "rr") }
func (k keys) salesCW() string            { return k.Core("sales", "cw") }
func (k keys) salesGot(m string) string   { return k.Core("sales", "got", m) }
func (k keys) salesPrefix() string        { return k.Core("sales", "") }
func (k keys) salesWon(m string) string   { return k.Core("sales", "won", m) }
func (k keys) convPrefix() string         { return k.Core("conv", "") }
func (k keys) mgr(m string) string        { return k.Core("mgr", m) }
func (k keys) mgrConvs(m string) string   { return k.Core("mgr", m, "convs") }
func (k keys) mgrPrefix() string          { return k.Core("mgr", "") }
func (k keys) contact(ch, acct, contactID string) string {
	return k.Core("contact", ch, acct, contactID)
}
func (k keys) contactPrefix() string   { return k.Core("contact", "") }
func (k keys) out(outID string) string { return k.Core("out", outID) }
func (k keys) outref(ch, acct, msgID string) string {
	return k.Core("outref", ch, acct, k.Pseudonym(msgID))
}

// doneCall marks a phone call's contact applied (call.lua runs after process.lua for one entry).
func (k keys) doneCall(entryID string) string { return k.Core("done", entryID, "call") }

// The contact indexes take pseudonyms (see contacts.go), never the contact id, phone or e-mail.
func (k keys) histPrefix() string { return k.Core("hist", "") }
func (k keys) histContact(ch, acct, ps string) string {
	return k.Core("hist", "c", ch, acct, ps)
}
func (k keys) histPhone(ps string) string { return k.Core("hist", "p", ps) }
func (k keys) histEmail(ps string) string { return k.Core("hist", "e", ps) }
