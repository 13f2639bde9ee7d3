package config

import (
	"fmt"
	"net"
	"strings"

	"github.com/lidorub/lidorub/internal/conf"
)

// DevTokenPrefix starts every development token documented in config.yaml and the README
// (dev-token-anna-0000, dev-token-boris-0000). Anyone who has read the docs knows them.
const DevTokenPrefix = "dev-token-"

// Loopback reports whether a listen address (host:port or :port) accepts connections only
// from this machine. An empty host, 0.0.0.0, :: or any non-loopback address or name (other
// than localhost) is reachable from other machines.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateExposure refuses a configuration that listens beyond loopback while a manager's API
// token is a documented development token: anyone could act as that manager (or supervisor).
// Tokens shorter than the minimum are refused everywhere (managers[].token).
func (c *Config) validateExposure(errs *conf.Errors) {
	if Loopback(c.HTTP.Listen) {
		return
	}
	for i, m := range c.Managers {
		if strings.HasPrefix(m.Token, DevTokenPrefix) {
			errs.Add(fmt.Sprintf("managers[%d].token", i),
				"is a documented development token while http.listen %q is reachable from other machines: "+
					"set a secret token of at least 16 characters (the shipped config.yaml reads LIDORUB_TOKEN_%s), "+
					"or listen on 127.0.0.1", c.HTTP.Listen, strings.ToUpper(strings.ReplaceAll(m.ID, "-", "_")))
		}
	}
}
