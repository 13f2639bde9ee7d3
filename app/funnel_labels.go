package app

import (
	"slices"

	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/router"
)

// funnelLabels are the funnel metrics' only label values, all from config: managers by role,
// the channel table, the sales tier's rejection and loss reason ids, and the currencies of
// won amounts (sales.currency and each enabled CRM connector's currency). Any other value
// counts as "other".
func funnelLabels(cfg *config.Config) router.FunnelLabels {
	fl := router.FunnelLabels{Channels: ChannelNames()}
	for _, m := range cfg.Managers {
		switch m.Role {
		case router.RoleSales:
			fl.SalesManagers = append(fl.SalesManagers, m.ID)
		case router.RoleSupervisor:
		default:
			fl.LeadManagers = append(fl.LeadManagers, m.ID)
		}
	}
	for _, r := range cfg.Sales.RejectionReasons {
		fl.RejectReasons = append(fl.RejectReasons, r.ID)
	}
	for _, r := range cfg.Sales.LossReasons {
		fl.LossReasons = append(fl.LossReasons, r.ID)
	}
	currency := func(c string) {
		if c != "" && !slices.Contains(fl.Currencies, c) {
			fl.Currencies = append(fl.Currencies, c)
		}
	}
	currency(cfg.Sales.Currency)
	if cfg.CRM.AmoCRM.Enabled {
		currency(cfg.CRM.AmoCRM.Currency)
	}
	if cfg.CRM.Bitrix24.Enabled {
		currency(cfg.CRM.Bitrix24.Currency)
	}
	return fl
}
