// Package lidorub holds what the binary embeds from the repository root: the documented
// example configuration, used when no configuration file is given or found.
package lidorub

import _ "embed"

// DefaultConfig is config.yaml as shipped: embedded Redis, two example lead-managers, a
// supervisor for the console, the web form.
//
//go:embed config.yaml
var DefaultConfig []byte
