package router

import (
	"github.com/lidorub/lidorub/locale"
)

// Templates is the older templates: section (auto_ack, off_hours, close). Its texts are
// overrides of customer.auto_ack, customer.off_hours and customer.close in the default
// language (locale.Config.Adopt); "-" sends nothing.
type Templates struct {
	AutoAck  string `yaml:"auto_ack"`  // sent at once to every new conversation during working hours
	OffHours string `yaml:"off_hours"` // sent instead when no lead-manager is on shift
	Close    string `yaml:"close"`     // polite close for tourists
}

// Adopt takes the set templates into a locale section (see locale.Config.Adopt). Call it
// after c.Defaults.
func (t Templates) Adopt(c *locale.Config) {
	c.Adopt(keyAutoAck, t.AutoAck)
	c.Adopt(keyOffHours, t.OffHours)
	c.Adopt(keyClose, t.Close)
}

// Disabled is the template value that means "send nothing".
const Disabled = locale.Disabled

// The catalogue keys of the automatic customer messages.
const (
	keyAutoAck  = "customer.auto_ack"
	keyOffHours = "customer.off_hours"
	keyClose    = "customer.close"
)

// customerTexts picks the automatic customer messages: the catalogue's text in the
// language of the conversation's channel account ("" when switched off with "-").
type customerTexts struct {
	cat      *locale.Catalogue
	builtin  *locale.Catalogue                    // the same default language, no overrides
	language func(channel, account string) string // the account's language, "" = the default
}

// lang is the language of the customers of a channel account.
func (t *customerTexts) lang(channel, account string) string {
	l := ""
	if t.language != nil {
		l = t.language(channel, account)
	}
	return t.cat.Lang(l)
}

func (t *customerTexts) text(key, channel, account string) string {
	return t.cat.T(t.lang(channel, account), key)
}

// custom reports whether the owner overrode key in lang (config texts or templates:).
func (t *customerTexts) custom(lang, key string) bool {
	return t.cat.T(lang, key) != t.builtin.T(lang, key)
}

// newCustomerTexts uses d.Locale, or (without one) a catalogue in the default language with
// tpl adopted: embedders and tests that only set Templates.
func newCustomerTexts(tpl Templates, d Deps) (*customerTexts, error) {
	cat := d.Locale
	if cat == nil {
		var c locale.Config
		c.Defaults()
		tpl.Adopt(&c)
		if err := c.Validate(); err != nil {
			return nil, err
		}
		var err error
		if cat, err = c.Catalogue(); err != nil {
			return nil, err
		}
	}
	builtin, err := locale.New(cat.Default(), nil)
	if err != nil {
		return nil, err
	}
	return &customerTexts{cat: cat, builtin: builtin, language: d.CustomerLocale}, nil
}

// staffErr is a Desk error that also carries the catalogue message a manager reads:
// Error() stays the English text of err (API bodies, logs), errors.Is(err, ErrInvalid) still
// holds, and errors.As(err, &le) with le *locale.Error finds the message.
type staffErr struct {
	err error
	msg *locale.Error
}

func (e *staffErr) Error() string   { return e.err.Error() }
func (e *staffErr) Unwrap() []error { return []error{e.err, e.msg} }

func withMsg(err error, key string, args ...any) error {
	if err == nil {
		return nil
	}
	return &staffErr{err: err, msg: locale.Errorf(key, args...)}
}

// channelArg is a channel's name as a catalogue argument: its localized name where the
// catalogue has one.
func (t *customerTexts) channelArg(channel string) any {
	if t.cat.Has("channel." + channel) {
		return locale.M("channel." + channel)
	}
	return channel
}
