package router

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts live in lua/, each with its KEYS/ARGV/returns documented at the top. Every
// script is prefixed with lua/lib.lua (shared helpers). They all touch only keys under the
// router's hash tag {P}, so each runs inside one Redis Cluster slot.
//
//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *redis.Script {
	lib, err := luaFS.ReadFile("lua/lib.lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(lib) + "\n" + string(body))
}

var (
	processScript   = script("process")
	assignScript    = script("assign")
	forwardScript   = script("forward")
	expireScript    = script("expire")
	acceptScript    = script("accept")
	passScript      = script("pass")
	replyScript     = script("reply")
	deliveredScript = script("delivered")
	failedScript    = script("failed")
	presenceScript  = script("presence")
	qualifyScript   = script("qualify")
	closeScript     = script("close")
)
