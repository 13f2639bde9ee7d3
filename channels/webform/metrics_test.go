package webform

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRejectedMetric(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RatePerMinute = 60; c.Burst = 6 })
	reg := prometheus.NewRegistry()
	if err := e.h.instrument(reg); err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{ct: "application/json", body: `{"phone":"+79165550123"}`},                // no_consent
		{ct: "application/json", body: `{"phone":"1","consent":true}`},            // invalid
		{ct: "application/json", body: `{`},                                       // malformed
		{ct: "text/plain", body: `x`},                                             // unsupported_type
		{ct: "application/json", body: `{"phone":"+79165550123","consent":true}`}, // accepted
		{ct: "application/json", body: `{"phone":"+79165550123","consent":true}`}, // accepted (duplicate)
		{ct: "application/json", body: `{"phone":"+79165550123","consent":true}`}, // rate_limited
	} {
		e.do(t, r)
	}
	want := `# HELP lidorub_form_rejected_total Web-form submissions refused, per reason (malformed, method, origin, too_large, unsupported_type, no_consent, invalid, captcha, rate_limited, unavailable).
# TYPE lidorub_form_rejected_total counter
lidorub_form_rejected_total{reason="captcha"} 0
lidorub_form_rejected_total{reason="invalid"} 1
lidorub_form_rejected_total{reason="malformed"} 1
lidorub_form_rejected_total{reason="method"} 0
lidorub_form_rejected_total{reason="no_consent"} 1
lidorub_form_rejected_total{reason="origin"} 0
lidorub_form_rejected_total{reason="rate_limited"} 1
lidorub_form_rejected_total{reason="too_large"} 0
lidorub_form_rejected_total{reason="unavailable"} 0
lidorub_form_rejected_total{reason="unsupported_type"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lidorub_form_rejected_total"); err != nil {
		t.Fatal(err)
	}
	if err := e.h.instrument(reg); err == nil {
		t.Fatal("registering twice succeeded")
	}
}
