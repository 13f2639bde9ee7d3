package router

import (
	"context"
	"encoding/json"

	"github.com/lidorub/lidorub/store"
)

// HandleInbound exposes the inbound handler so tests can simulate an instance that applied
// an entry and died before acknowledging it.
func (r *Router) HandleInbound(ctx context.Context, e store.Entry) error {
	return r.inbound.handleInbound(ctx, e)
}

// timelineTestScript writes one timeline entry through lib.lua's timeline(), as the sales
// tier's scripts do: KEYS[1] {P}:conv:<id>:tl KEYS[2] {P}:timeline; ARGV conv, stage,
// manager, extra JSON object ("{}" = none), now ms.
var timelineTestScript = func() *store.Script {
	lib, err := luaFS.ReadFile("lua/lib.lua")
	if err != nil {
		panic(err)
	}
	return store.NewScript(string(lib) + "\ntimeline(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], cjson.decode(ARGV[4]), ARGV[5])\nreturn 1\n")
}()

// WriteTimeline appends a stage to a lead's timeline at the router's clock (tests of the
// sales stages before the sales tier writes them).
func (r *Router) WriteTimeline(ctx context.Context, conv int64, stage, manager string, extra map[string]string) error {
	if extra == nil {
		extra = map[string]string{}
	}
	x, _ := json.Marshal(extra)
	return timelineTestScript.Run(ctx, r.b.rdb, []string{r.b.keys.timeline(conv), r.b.keys.timelineStream()},
		conv, stage, manager, string(x), ms(r.b.clock.Now())).Err()
}
