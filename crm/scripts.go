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
