// Package cors is the CORS policy of the gateway's browser-facing endpoints (the web form,
// the website chat): the configured origins ("*" for any) and the preflight answer.
package cors

import (
	"net/http"
	"strings"
)

// Policy answers cross-origin browser requests for a set of allowed origins.
type Policy struct {
	origins map[string]bool
	any     bool
	methods string // Access-Control-Allow-Methods of a preflight
	headers string // Access-Control-Allow-Headers of a preflight
}

// New makes a policy from allowed_origins (compared case-insensitively, without a trailing
// "/"; "*" allows any origin) and the methods and request headers a preflight allows.
func New(allowed []string, methods, headers string) *Policy {
	p := &Policy{origins: map[string]bool{}, methods: methods, headers: headers}
	for _, o := range allowed {
		if o == "*" {
			p.any = true
		}
		p.origins[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	return p
}

// Configured reports whether any origin is allowed at all.
func (p *Policy) Configured() bool { return len(p.origins) > 0 }

// Apply sets the CORS headers for an allowed Origin (the preflight's on OPTIONS) and returns
// false for a browser request from any other origin. A request without Origin (not
// cross-origin: server-to-server, curl, a same-origin GET) passes.
func (p *Policy) Apply(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if !p.any && !p.origins[strings.ToLower(origin)] {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", p.methods)
		w.Header().Set("Access-Control-Allow-Headers", p.headers)
		w.Header().Set("Access-Control-Max-Age", "600")
	} else {
		w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	}
	return true
}
