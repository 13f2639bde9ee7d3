// Package email is the e-mail channel: intake from IMAP mailboxes (IDLE, else polling; one
// reader per mailbox across gateway processes through a Redis lease; the UID position in
// Redis, advanced only after the messages are ingested and flagged) and replies over SMTP
// submission as proper replies in the customer's thread.
package email

// Name is the channel name (metric labels, Redis keys, the config section).
const Name = "email"
