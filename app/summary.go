package app

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lidorub/lidorub/store"
)

// accountLister is implemented by channel config sections that name their accounts.
type accountLister interface{ AccountNames() []string }

// Summary is the one start-up log line that says what this process will do: the enabled
// channels with their accounts, the managers by role with how many are on shift at now, and
// the Redis mode. It names no token, phone or address of a customer.
func (g *Gateway) Summary(now time.Time) []any {
	var chans []string
	for _, e := range table {
		if _, ok := g.Channels[e.name]; !ok {
			continue
		}
		s := e.name
		if l, ok := e.section(&g.Config.Channels).(accountLister); ok {
			if names := l.AccountNames(); len(names) > 0 {
				s += "[" + strings.Join(names, ",") + "]"
			}
		}
		chans = append(chans, s)
	}
	if len(chans) == 0 {
		chans = append(chans, "none")
	}
	type count struct{ all, onShift int }
	roles := map[string]*count{}
	for i := range g.Config.Managers {
		m := &g.Config.Managers[i]
		c := roles[m.Role]
		if c == nil {
			c = &count{}
			roles[m.Role] = c
		}
		c.all++
		if m.OnShift(now) {
			c.onShift++
		}
	}
	names := make([]string, 0, len(roles))
	for r := range roles {
		names = append(names, r)
	}
	sort.Strings(names)
	var mgrs []string
	for _, r := range names {
		mgrs = append(mgrs, fmt.Sprintf("%s %d (%d on shift now)", r, roles[r].all, roles[r].onShift))
	}
	if len(mgrs) == 0 {
		mgrs = append(mgrs, "none")
	}
	return []any{"channels", strings.Join(chans, " "), "managers", strings.Join(mgrs, ", "),
		"strategy", g.Config.Router.Strategy, "redis", redisMode(g.Config.Redis)}
}

// redisMode names how Redis is reached, without its address or credentials.
func redisMode(c store.Config) string {
	switch {
	case c.URL == store.Embedded:
		return "embedded (in memory, lost on exit)"
	case c.Cluster:
		return "cluster"
	case c.SentinelMaster != "":
		return "sentinel"
	}
	return "standalone"
}
