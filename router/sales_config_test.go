package router_test

import (
	"strings"
	"testing"

	"github.com/lidorub/lidorub/router"
)

func TestSalesConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  router.SalesConfig
		want string // "" = valid
	}{
		{"defaults", router.SalesConfig{}, ""},
		{"warm hands off", router.SalesConfig{HandoffLevels: []string{"hot", "warm"}, Strategy: router.SalesWeighted}, ""},
		{"tourist level", router.SalesConfig{HandoffLevels: []string{"tourist"}}, `handoff_levels[0]: must be hot or warm (got "tourist")`},
		{"unknown strategy", router.SalesConfig{Strategy: "random"}, `strategy: must be one of round_robin, least_loaded, best_conversion, weighted (got "random")`},
		{"duplicate reason", router.SalesConfig{RejectionReasons: []router.SalesReason{{ID: "dup"}, {ID: "dup"}}},
			`rejection_reasons[1].id: duplicates rejection_reasons[0].id "dup"`},
		{"not_a_lead loss", router.SalesConfig{LossReasons: []router.SalesReason{{ID: "x", NotALead: true}}},
			`loss_reasons[0].not_a_lead: applies to rejection reasons only`},
		{"text language", router.SalesConfig{LossReasons: []router.SalesReason{{ID: "x", Text: map[string]string{"de": "X"}}}},
			`loss_reasons[0].text.de:`},
		{"currency", router.SalesConfig{Currency: "RUBLES"}, `currency: must be a 3-letter ISO 4217 code (got "RUBLES")`},
		{"floor", router.SalesConfig{ConversionFloor: 2000}, `conversion_floor: must be between 1 and 1000 (thousandths)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Defaults()
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	ms := []router.Manager{{ID: "s1", Role: router.RoleSales, Weight: -1}}
	router.ManagersDefaults(ms)
	if err := router.ValidateManagers(ms); err == nil || !strings.Contains(err.Error(), "[0].weight: must be between 1 and 1000") {
		t.Errorf("weight -1: %v", err)
	}
	ms = []router.Manager{{ID: "s1", Role: router.RoleSales}}
	router.ManagersDefaults(ms)
	if err := router.ValidateManagers(ms); err != nil || ms[0].Weight != 1 {
		t.Errorf("a sales manager with defaults: %v, weight %d", err, ms[0].Weight)
	}
}
