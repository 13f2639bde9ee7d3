package router

import (
	"context"
	"fmt"
)

// crm.lua: a crm stage on a lead's timeline.
var crmScript = script("crm")

func (k keys) crmKeys(conv int64) []string {
	return []string{k.conv(conv), k.timeline(conv), k.timelineStream()}
}

type crmArgs struct {
	Now    int64 // ms
	Conv   int64
	CRM    string
	ID     string
	Status string
}

func (a crmArgs) argv() []any { return []any{a.Now, a.Conv, a.CRM, a.ID, a.Status} }

// RecordCRM records on a lead's timeline (stage crm) the CRM record a connector made for it
// (status "created") or a CRM status that is not an outcome. Ids and statuses only.
func (d *desk) RecordCRM(ctx context.Context, convID int64, crm, id, status string) error {
	a := crmArgs{Now: ms(d.clock.Now()), Conv: convID, CRM: crm, ID: id, Status: status}
	st, err := crmScript.Run(ctx, d.rdb, d.keys.crmKeys(convID), a.argv()...).Text()
	if err != nil {
		return fmt.Errorf("record crm: %w", err)
	}
	return statusErr(st)
}
