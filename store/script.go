package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Script is a Lua script run with EVALSHA and loaded again when Redis answers NOSCRIPT (a
// restarted or flushed server). Every script of the gateway lives in a .lua file, with its
// KEYS, ARGV and returns documented at the top, next to a small typed Go wrapper: an args
// struct whose fields are in ARGV order and whose method builds ARGV, and the KEYS built by
// the key functions (the script never builds a key name from a prefix it was not given).
type Script struct{ s *redis.Script }

// NewScript wraps the Lua source src.
func NewScript(src string) *Script { return &Script{s: redis.NewScript(src)} }

// Run runs the script once (EVALSHA, then EVAL on NOSCRIPT).
func (s *Script) Run(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd {
	return s.s.Run(ctx, c, keys, args...)
}

// Call is one run of a script in EvalPipelined.
type Call struct {
	Keys []string
	Args []any
}

// EvalPipelined runs the script once per call, in order, in one pipeline (one round trip),
// and returns each call's command, in the order of calls. A single call is a plain Run. A
// call answered NOSCRIPT (the script cache was flushed under the pipeline) is run again on
// its own with Run, which loads the script: the scripts run this way must be idempotent or
// must not have run when NOSCRIPT is the answer (Redis runs nothing then).
func (s *Script) EvalPipelined(ctx context.Context, rdb redis.UniversalClient, calls []Call) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	if len(calls) == 1 {
		cmds[0] = s.Run(ctx, rdb, calls[0].Keys, calls[0].Args...)
		return cmds
	}
	if len(calls) == 0 {
		return cmds
	}
	pipe := rdb.Pipeline()
	for i, c := range calls {
		cmds[i] = s.s.EvalSha(ctx, pipe, c.Keys, c.Args...)
	}
	_, _ = pipe.Exec(ctx) // per-command errors are read below
	for i, c := range calls {
		if err := cmds[i].Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			cmds[i] = s.Run(ctx, rdb, c.Keys, c.Args...)
		}
	}
	return cmds
}
