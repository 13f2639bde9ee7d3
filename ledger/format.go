// Package ledger is the fairness ledger of the sales tier: the format of its entries (written
// atomically by router/lua/handoff.lua with every sales-offer decision), the hash chain, and
// the verifier behind `lidorub audit verify` and GET /api/v1/audit/handoffs.
//
// An entry is one stream entry of {P}:ledger with the string fields below. It holds ids and
// numbers only, never personal data, so erasing a customer never breaks the chain. The head
// of the chain is {P}:ledger:head (hash: seq, hash).
//
// The rules (router/lua/handoff.lua applies them; Decide in this package replays them):
//   - Ids are compared byte by byte (Go's < on strings). Lua's < on strings uses strcoll and
//     redis-server sets LC_COLLATE from its environment, so handoff.lua must not compare ids
//     with < (under a locale other than C, ids with '-' or '_' may collate differently from
//     their bytes); it compares bytes or positions in a list sorted by Go.
//   - Candidates are every configured sales manager, sorted by id. A candidate is eligible when
//     Skip is "": online, on shift, Load < Cap, has not let this lead lapse in the current
//     round, has not rejected this lead. Ties are always broken by this order (lowest id).
//   - round_robin: the first eligible candidate whose id is after Ptr (the last chosen id),
//     cyclically. The pointer is an id, so roster edits never reset it and the absent do not
//     bank turns. After a decision the pointer is the chosen id.
//   - least_loaded: the eligible candidate with the lowest Load, then the lowest Last (0 =
//     never handed a lead = longest ago), then the lowest id.
//   - weighted: smooth weighted round robin over the eligible: each eligible CW += W; the
//     highest CW wins (ties: lowest id); the winner's CW -= the sum of the eligible W.
//     Ineligible candidates' CW does not change (no banking). W = managers[].weight.
//   - best_conversion: as weighted with W = max(floor, 1000 * (Won + prior_won) /
//     (Got + prior_leads)) using integer division, Won/Got counted over
//     sales.conversion_window; Got counts only the leads the candidate accepted and kept (a
//     later rejection or first-contact breach of the same lead removes it). The verifier
//     replays the recorded Won/Got, so this rule does not change the replay.
//   - No eligible candidate: Chosen = "", the lead waits in the sales queue; pointer and CW
//     unchanged.
//   - manual: Chosen = the supervisor's pick (By); no strategy state changes.
package ledger

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// Decision kinds.
const (
	KindAuto   = "auto"   // chosen by the strategy
	KindManual = "manual" // picked by a supervisor (By), flagged
)

// Skip reasons of a candidate that could not be chosen.
const (
	SkipOffline    = "offline"
	SkipOffShift   = "off_shift"
	SkipAtCapacity = "at_capacity"
	SkipLapsed     = "lapsed"   // let this lead's offer lapse this round
	SkipRejected   = "rejected" // rejected this lead
)

// Entry is one handoff decision, as stored (stream fields in brackets).
type Entry struct {
	ID       string      `json:"id"`       // stream entry id (not hashed)
	Seq      int64       `json:"seq"`      // [seq] 1, 2, 3, ... without gaps
	At       int64       `json:"at"`       // [at] ms
	Lead     int64       `json:"lead"`     // [lead] conversation id
	LM       string      `json:"lm"`       // [lm] the lead-manager who handed it off
	Kind     string      `json:"kind"`     // [kind] auto | manual
	Strategy string      `json:"strategy"` // [strategy] round_robin | least_loaded | best_conversion | weighted
	Ptr      string      `json:"ptr"`      // [ptr] round_robin: the last chosen id before this decision
	Cands    []Candidate `json:"cands"`    // [cands] JSON array, every configured sales manager sorted by id
	CandsRaw string      `json:"-"`        // [cands] exactly as stored (hashed as is)
	Chosen   string      `json:"chosen"`   // [chosen] "" when nobody was eligible (the lead waits)
	By       string      `json:"by"`       // [by] manual: the supervisor
	Prev     string      `json:"prev"`     // [prev] hash of the previous entry ("" for the first)
	Hash     string      `json:"hash"`     // [hash] Hash(entry)
}

// Candidate is one sales manager at the moment of a decision. Weights are integers so Lua
// and Go compute the same.
type Candidate struct {
	ID   string `json:"id"`
	Load int64  `json:"load"` // open handed-off leads (offered + accepted + contacted)
	Cap  int64  `json:"cap"`
	Last int64  `json:"last"` // ms of their last handoff (0 = never)
	Won  int64  `json:"won"`  // best_conversion: won leads in the window
	Got  int64  `json:"got"`  // best_conversion: accepted and kept (not rejected or breached) leads in the window
	W    int64  `json:"w"`    // weighted / best_conversion: the weight used (best_conversion: score in thousandths, floored)
	CW   int64  `json:"cw"`   // smooth weighted round robin: current weight before the decision
	Skip string `json:"skip"` // "" eligible, else a Skip* reason
}

// Hash is the chain hash of an entry: SHA-1 (redis.sha1hex in Lua) of its fields joined by
// "|": prev, seq, at, lead, lm, kind, strategy, ptr, cands (raw), chosen, by.
func Hash(e Entry) string {
	s := strings.Join([]string{e.Prev, itoa(e.Seq), itoa(e.At), itoa(e.Lead), e.LM, e.Kind, e.Strategy,
		e.Ptr, e.CandsRaw, e.Chosen, e.By}, "|")
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
