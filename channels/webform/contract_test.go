package webform

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
)

// contractUpstream is a website posting its callback form (retried by the client on 5xx,
// the same submission carrying the same Idempotency-Key). The form has no sender and no
// signature.
type contractUpstream struct {
	mux *http.ServeMux
}

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, _ *channeltest.Env, d channels.Deps) channeltest.Upstream {
		ch, err := New(Config{}, d)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		ch.Register(mux)
		return contractUpstream{mux}
	})
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool {
	r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{"name":"Ольга","phone":"+79165550123","consent":true}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Idempotency-Key", id)
	w := httptest.NewRecorder()
	u.mux.ServeHTTP(w, r)
	return w.Code == http.StatusAccepted
}
