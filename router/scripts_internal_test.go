package router

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/store"
)

// The Lua side completes prefixes with the suffixes of lua/lib.lua (conv_keys, mgr_keys,
// contact_key): they must build the same names as keys.go.
func TestKeyPrefixesComposeLikeTheKeyFunctions(t *testing.T) {
	k := newKeys(store.NewKeys("p"))
	for _, c := range []struct{ lua, goKey string }{
		{k.convPrefix() + "42", k.conv(42)},
		{k.convPrefix() + "42" + ":log", k.log(42)},
		{k.convPrefix() + "42" + ":meta", k.meta(42)},
		{k.convPrefix() + "42" + ":lapsed", k.lapsed(42)},
		{k.convPrefix() + "42" + ":card", k.card(42)},
		{k.histPrefix() + "c:telegram:shop:7", k.histContact("telegram", "shop", "7")},
		{k.histPrefix() + "p:ab12", k.histPhone("ab12")},
		{k.histPrefix() + "e:ab12", k.histEmail("ab12")},
		{k.mgrPrefix() + "anna", k.mgr("anna")},
		{k.mgrPrefix() + "anna" + ":convs", k.mgrConvs("anna")},
		{k.contactPrefix() + "telegram:shop:7", k.contact("telegram", "shop", "7")},
	} {
		if c.lua != c.goKey {
			t.Errorf("Lua builds %q, Go %q", c.lua, c.goKey)
		}
	}
}

// Every key a script gets is in the router's hash-tag group, so the script runs in one
// Redis Cluster slot.
func TestScriptKeysShareOneHashTag(t *testing.T) {
	k := newKeys(store.NewKeys("p"))
	cands := []candidate{{ID: "anna", Capacity: 2}, {ID: "boris", Capacity: 1}}
	for name, ks := range map[string][]string{
		"presence":  k.presenceKeys("anna"),
		"accept":    k.acceptKeys(1, "anna"),
		"pass":      k.passKeys(1, "anna"),
		"outseq":    k.outSeqKeys(1),
		"reply":     k.replyKeys(1),
		"qualify":   k.qualifyKeys(1),
		"close":     k.closeKeys(1, "anna"),
		"erase":     k.eraseKeys(1, []string{"sam"}),
		"handoff":   k.handoffKeys([]salesCand{{ID: "sam", Cap: 2, Weight: 1}}),
		"salesact":  k.salesActKeys(1),
		"correct":   k.correctKeys("form", "default", "+79161234567", "+79037654321"),
		"process":   k.processKeys("1-0", "telegram", "shop", "7", []string{k.mgr("anna")}),
		"assign":    k.assignKeys(cands),
		"forward":   k.forwardKeys(),
		"expire":    k.expireKeys(1),
		"delivered": k.deliveredKeys(1, "c1-r1", "telegram", "shop", "99"),
		"failed":    k.failedKeys(1, "c1-r1"),
		"call":      k.callKeys("1-0", "calls", "zadarma", "+74951234567"),
		"retire":    k.retireKeys(),
		"defer":     k.deferKeys(),
		"undefer":   k.undeferKeys(),
		"requalify": k.requalifyKeys(1),
		"offline":   k.forceOfflineKeys("anna"),
		"reassign":  k.reassignKeys(1, "anna"),
		"front":     k.frontKeys(1),
		"opsclose":  k.opsCloseKeys(1),
		"resend":    k.resendKeys(1, "c1-r1"),
	} {
		for _, key := range ks {
			if !strings.HasPrefix(key, "{p}:") {
				t.Errorf("%s.lua gets key %q outside the {p} hash tag", name, key)
			}
		}
	}
	if got := len(k.assignKeys(cands)); got != 6+2*len(cands) {
		t.Errorf("assign.lua gets %d keys, want 6 + 2 per candidate", got)
	}
}

// Every script documents its KEYS, ARGV and returns at the top, and builds no key from the
// old ARGV[1] prefix.
func TestScriptsDocumentTheirInterface(t *testing.T) {
	files, err := fs.Glob(luaFS, "lua/*.lua")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "lua/lib.lua" {
			continue
		}
		b, _ := luaFS.ReadFile(f)
		var header strings.Builder
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, "--") {
				break
			}
			header.WriteString(line + "\n")
		}
		h := header.String()
		for _, want := range []string{"KEYS[1]", "ARGV", "returns"} {
			if !strings.Contains(h, want) {
				t.Errorf("%s: the header does not document %s", f, want)
			}
		}
		if strings.Contains(string(b), "K(") {
			t.Errorf("%s builds a key name with K()", f)
		}
	}
}
