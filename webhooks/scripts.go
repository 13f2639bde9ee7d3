package webhooks

import (
	"embed"
	"strconv"

	"github.com/lidorub/lidorub/store"
)

// The outbox's Lua scripts live in lua/, each with its KEYS, ARGV and returns documented at
// the top, and a typed wrapper here: a keys function built from keys.go and an args struct
// whose fields are in ARGV order.
//
//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *store.Script {
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return store.NewScript(string(body))
}

var (
	enqueueScript = script("enqueue")
	claimScript   = script("claim")
	settleScript  = script("settle")
	replayScript  = script("replay")
)

func i64s(v int64) string { return strconv.FormatInt(v, 10) }

// enqueueKeys: ep, due and item keys of every endpoint taking the event.
func (k keys) enqueueKeys(endpoints []string, id string) []string {
	out := make([]string, 0, 3*len(endpoints))
	for _, ep := range endpoints {
		out = append(out, k.ep(ep), k.due(ep), k.item(ep, id))
	}
	return out
}

type enqueueArgs struct {
	ID      string
	Conv    int64
	Stage   string
	Manager string
	Extra   string
	At      int64
	Now     int64
}

func (a enqueueArgs) argv() []any {
	return []any{a.ID, i64s(a.Conv), a.Stage, a.Manager, a.Extra, i64s(a.At), i64s(a.Now)}
}

func (k keys) claimKeys(ep string) []string { return []string{k.due(ep), k.itemPrefix(ep), k.ep(ep)} }

type claimArgs struct {
	Now   int64
	Lease int64
	Limit int
}

func (a claimArgs) argv() []any { return []any{i64s(a.Now), i64s(a.Lease), strconv.Itoa(a.Limit)} }

func (k keys) settleKeys(ep, id string) []string {
	return []string{k.due(ep), k.dead(ep), k.item(ep, id), k.ep(ep)}
}

// Outcomes of one delivery attempt (settle.lua).
const (
	outDelivered = "delivered"
	outRetry     = "retry"
	outDead      = "dead"
	outGone      = "gone"
	outDropped   = "dropped"
)

type settleArgs struct {
	ID       string
	Token    string
	Outcome  string
	Now      int64
	Next     int64
	TTL      int64 // seconds
	Attempts int
	Last     string
}

func (a settleArgs) argv() []any {
	return []any{a.ID, a.Token, a.Outcome, i64s(a.Now), i64s(a.Next), i64s(a.TTL), strconv.Itoa(a.Attempts), a.Last}
}

func (k keys) replayKeys(ep string) []string {
	return []string{k.dead(ep), k.due(ep), k.itemPrefix(ep)}
}

type replayArgs struct {
	Now   int64
	Limit int
}

func (a replayArgs) argv() []any { return []any{i64s(a.Now), strconv.Itoa(a.Limit)} }
