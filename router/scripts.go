package router

import (
	"embed"

	"github.com/lidorub/lidorub/store"
)

// The Lua scripts live in lua/, each with its KEYS, ARGV and returns documented at the top
// and prefixed with lua/lib.lua (shared helpers). Each has a small typed wrapper in Go (in
// scripts_desk.go and scripts_workers.go): a keys method that builds its KEYS with the key
// functions of keys.go, and an args struct whose fields are in ARGV order, with argv()
// building the ARGV slice. Every key carries the router's hash tag {P}, so each script runs
// inside one Redis Cluster slot.
//
//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *store.Script {
	lib, err := luaFS.ReadFile("lua/lib.lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	body, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return store.NewScript(string(lib) + "\n" + string(body))
}

// flag is a script's 1|0 argument.
func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
