package telegram

// AccountNames names the customer bots this section configures, and "staff" when the
// lead-managers' bot is set (for the start-up summary).
func (c Config) AccountNames() []string {
	out := make([]string, 0, len(c.Bots)+1)
	for _, b := range c.Bots {
		out = append(out, b.Name)
	}
	if c.Staff.Token != "" {
		out = append(out, "staff")
	}
	return out
}
