package app

import (
	"context"

	"github.com/lidorub/lidorub/crm"
	"github.com/lidorub/lidorub/crm/amocrm"
	"github.com/lidorub/lidorub/crm/bitrix24"
	"github.com/lidorub/lidorub/router"
)

// buildCRM makes the enabled CRM connectors (crm: section): each registers its inbound
// webhook on the mux and runs its push, inbound worker and reconciliation among the runners.
// A lead erased on request has its CRM mapping removed too (the router's "closed" event with
// reason "erased").
func (g *Gateway) buildCRM() {
	cfg := g.Config.CRM
	var names []string
	if cfg.AmoCRM.Enabled {
		names = append(names, amocrm.Name)
	}
	if cfg.Bitrix24.Enabled {
		names = append(names, bitrix24.Name)
	}
	if len(names) == 0 {
		return
	}
	d := crm.Deps{Redis: g.Conn.Client, Keys: g.Conn.Keys, Clock: g.Clock, Log: g.Log, Leads: g.Router,
		Alerter: g.Router, Metrics: crm.NewMetrics(g.Registry, names...), Instance: g.Config.InstanceID}
	var services []*crm.Service
	if cfg.AmoCRM.Enabled {
		a := amocrm.New(cfg.AmoCRM, d)
		a.Register(g.Mux)
		g.runners = append(g.runners, a)
		services = append(services, a.Service())
	}
	if cfg.Bitrix24.Enabled {
		b := bitrix24.New(cfg.Bitrix24, d)
		b.Register(g.Mux)
		g.runners = append(g.runners, b)
		services = append(services, b.Service())
	}
	g.CRM = services
	g.Router.AddNotifier(router.NotifierFunc(func(ctx context.Context, ev router.Event) error {
		if ev.Type != router.EventClosed || ev.Reason != "erased" {
			return nil
		}
		for _, s := range services {
			if err := s.Forget(ctx, ev.ConversationID); err != nil {
				return err
			}
		}
		return nil
	}))
}
