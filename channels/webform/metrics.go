package webform

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// Rejection reasons, the values of the reason label of lidorub_form_rejected_total.
var rejectReasons = []string{
	"malformed", "method", "origin", "too_large", "unsupported_type",
	"no_consent", "invalid", "captcha", "rate_limited", "unavailable",
}

// instrument registers lidorub_form_rejected_total{reason} on reg (every reason initialised
// at zero). Without a registerer rejections are only logged.
func (h *Channel) instrument(reg prometheus.Registerer) error {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lidorub_form_rejected_total",
		Help: "Web-form submissions refused, per reason (malformed, method, origin, too_large, unsupported_type, no_consent, invalid, captcha, rate_limited, unavailable)."},
		[]string{"reason"})
	for _, r := range rejectReasons {
		c.WithLabelValues(r)
	}
	if err := reg.Register(c); err != nil {
		return err
	}
	h.rejected = c
	return nil
}

// reason maps an error answer to its label value.
func reason(e *apiError) string {
	switch e.Status {
	case http.StatusBadRequest:
		return "malformed"
	case http.StatusMethodNotAllowed:
		return "method"
	case http.StatusForbidden:
		return "origin"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_type"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusUnprocessableEntity:
		switch e.Field {
		case fConsent:
			return "no_consent"
		case "captcha":
			return "captcha"
		}
		return "invalid"
	}
	return "unavailable"
}
