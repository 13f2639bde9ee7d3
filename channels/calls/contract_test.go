package calls

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
)

// upstream delivers one provider's final call event with the call id of the item.
type upstream struct {
	e        *env
	provider string
}

func TestContract(t *testing.T) {
	for _, p := range []string{Generic, Zadarma, Mango} {
		t.Run(p, func(t *testing.T) {
			channeltest.Run(t, func(t *testing.T, ce *channeltest.Env, d channels.Deps) channeltest.Upstream {
				return upstream{e: newEnvOn(t, ce, d), provider: p}
			})
		})
	}
}

func (u upstream) deliver(t *testing.T, id string, forged bool) bool {
	switch u.provider {
	case Generic:
		b := strings.Replace(string(fixture(t, "generic_missed.json")), "1768212000.42", id, 1)
		secret := genericSecret
		if forged {
			secret = "not-the-secret-0123456789"
		}
		return u.e.postGeneric([]byte(b), secret).Code == http.StatusOK
	case Zadarma:
		b := strings.Replace(string(fixture(t, "zadarma_end_missed.form")), "in_4f2d1c0a9b", id, 1)
		secret := zadarmaSecret
		if forged {
			secret = "not-the-secret"
		}
		return u.e.postZadarma(t, []byte(b), secret).Code == http.StatusOK
	case Mango:
		js := strings.Replace(string(fixture(t, "mango_summary_missed.json")), "MjY4NTQ0NjE4NDoxMDI=", id, 1)
		salt := mangoSalt
		if forged {
			salt = "not-the-salt"
		}
		return u.e.postMango("events/summary", js, mangoKey, salt).Code == http.StatusOK
	}
	t.Fatalf("unknown provider %s", u.provider)
	return false
}

func (u upstream) Deliver(t *testing.T, id string) bool       { return u.deliver(t, id, false) }
func (u upstream) DeliverForged(t *testing.T, id string) bool { return u.deliver(t, id, true) }
