package webhooks

import (
	"fmt"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// secretPrefix starts every signing secret: "whsec_" + base64 of the key.
const secretPrefix = "whsec_"

// Signer signs deliveries to one endpoint with Standard Webhooks 1.0 (the standard-webhooks
// Go library): "v1," + base64 of HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>",
// keyed by the base64-decoded part of the secret after whsec_. With several secrets (a
// rotation) the header carries one signature per secret, space-separated.
type Signer struct{ whs []*standardwebhooks.Webhook }

// NewSigner returns a signer for the secrets (the first one is the current secret).
func NewSigner(secrets ...string) (*Signer, error) {
	s := &Signer{}
	for i, sec := range secrets {
		if err := checkSecret(sec); err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		wh, err := standardwebhooks.NewWebhook(sec)
		if err != nil {
			return nil, fmt.Errorf("secret %d: not base64", i+1)
		}
		s.whs = append(s.whs, wh)
	}
	if len(s.whs) == 0 {
		return nil, fmt.Errorf("no secret")
	}
	return s, nil
}

// Sign returns the webhook-signature header value for one delivery.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	sigs := make([]string, 0, len(s.whs))
	for _, wh := range s.whs {
		sig, _ := wh.Sign(id, ts, body) // never fails: the key was decoded by NewWebhook
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " ")
}
