package router

import "github.com/lidorub/lidorub/internal/conf"

// Templates are the automatic messages. Left empty, a template gets a built-in text; set it
// to "-" to send nothing.
type Templates struct {
	AutoAck  string `yaml:"auto_ack"`  // sent at once to every new conversation during working hours
	OffHours string `yaml:"off_hours"` // sent instead when no lead-manager is on shift
	Close    string `yaml:"close"`     // polite close for tourists
}

// Defaults fills unset templates with friendly texts.
func (t *Templates) Defaults() {
	conf.Default(&t.AutoAck, "Thank you for your message! A manager will answer you within a minute.")
	conf.Default(&t.OffHours, "Thank you for your message! We are closed right now; a manager will answer you first thing when we open.")
	conf.Default(&t.Close, "Thank you for your interest! If you have any more questions, just write to us.")
}

// Disabled is the template value that means "send nothing".
const Disabled = "-"

func tplText(s string) string {
	if s == Disabled {
		return ""
	}
	return s
}
