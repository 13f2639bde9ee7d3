package instagram

// AccountNames names the accounts this section configures (for the start-up summary).
func (c Config) AccountNames() []string {
	out := make([]string, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		out = append(out, a.ID)
	}
	return out
}
