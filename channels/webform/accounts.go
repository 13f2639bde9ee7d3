package webform

// AccountNames names the accounts this section configures (for the start-up summary).
func (c Config) AccountNames() []string { return []string{c.Account} }
