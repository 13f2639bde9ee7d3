package app

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/lidorub/lidorub/router"
)

const samServeToken = "sam-serve-token-5b1e7d"

// The funnel metrics take their reason and currency labels from the sales: section: a
// configured rejection reason rejected through the API is counted under its own id (not
// "other"), and every configured reason and currency series exists at zero from the start.
func TestFunnelLabelsFromSalesConfig(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Managers = append(cfg.Managers, router.Manager{ID: "sam", Name: "Sam", Role: router.RoleSales, Capacity: 5, Token: samServeToken})
	cfg.Sales.RejectionReasons = []router.SalesReason{{ID: "wrong_city"}, {ID: "spam", NotALead: true}}
	cfg.Sales.LossReasons = []router.SalesReason{{ID: "too_expensive"}}
	cfg.Sales.Currency = "EUR"
	tg := newTestGateway(t, cfg)
	tg.online("anna", annaToken)
	tg.online("sam", samServeToken)
	tg.formLead(leadJSON)
	tg.settle()
	o := tg.offers("anna", annaToken)
	if len(o.Offers) != 1 {
		t.Fatalf("anna's offers: %+v", o)
	}
	id := strconv.FormatInt(o.Offers[0].ID, 10)
	tg.must(http.StatusOK, "POST", "/api/v1/conversations/"+id+"/accept", annaToken, "", "", nil)
	tg.must(http.StatusOK, "POST", "/api/v1/conversations/"+id+"/qualify", annaToken, "application/json", `{"level": "hot", "note": "call"}`, nil)
	tg.settle()
	tg.must(http.StatusOK, "POST", "/api/v1/conversations/"+id+"/sales/reject", samServeToken, "application/json", `{"reason": "wrong_city"}`, nil)
	tg.settle()
	m := tg.scrape()
	for series, want := range map[string]float64{
		`lidorub_funnel_sales_rejected_total{manager="sam",reason="wrong_city"}`:      1,
		`lidorub_funnel_sales_rejected_total{manager="sam",reason="other"}`:           0,
		`lidorub_funnel_sales_rejected_total{manager="sam",reason="spam"}`:            0,
		`lidorub_funnel_sales_lost_total{manager="sam",reason="too_expensive"}`:       0,
		`lidorub_funnel_won_amount_total{currency="EUR",manager="sam"}`:               0,
		`lidorub_funnel_lead_manager_total{event="rejected_by_sales",manager="anna"}`: 1,
		`lidorub_funnel_lead_manager_total{event="handed_off",manager="anna"}`:        1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
}
