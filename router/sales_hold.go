package router

// Holder is the manager holding the customer conversation of an assigned lead: ManagerID,
// or, while a handed-off lead waits for a sales manager (sales state queued or offered), the
// lead-manager who handed it off (LeadManagerID) — the customer's messages reach them and they
// may reply or close it (withdrawing the sales offer) until a sales manager accepts. "" when
// nobody holds it.
func (c *Conversation) Holder() string {
	if c.ManagerID == "" && (c.SalesState == SalesQueued || c.SalesState == SalesOffered) {
		return c.LeadManagerID
	}
	return c.ManagerID
}
