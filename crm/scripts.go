package crm

import (
	_ "embed"

	"github.com/lidorub/lidorub/store"
)

//go:embed lua/link.lua
var linkSrc string

// link.lua: stores a lead's CRM record id (see the script's header).
var linkScript = store.NewScript(linkSrc)

func (k keys) linkKeys(conv int64, id string) []string {
	return []string{k.lead(conv), k.ext(id), k.try(conv)}
}

type linkArgs struct {
	ID   string
	Conv int64
}

func (a linkArgs) argv() []any { return []any{a.ID, a.Conv} }

//go:embed lua/claim.lua
var claimSrc string

// claim.lua: claims the creation of a lead's record (see the script's header).
var claimScript = store.NewScript(claimSrc)

func (k keys) claimKeys(conv int64) []string { return []string{k.try(conv)} }

type claimArgs struct {
	Now   int64 // ms
	Stale int64 // ms
}

func (a claimArgs) argv() []any { return []any{a.Now, a.Stale} }
