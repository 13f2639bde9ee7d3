package router

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
)

// ContactRef names a channel contact: the conversations of the same channel, account and
// contact id are that contact's.
type ContactRef struct {
	Channel   string
	Account   string
	ContactID string
}

// ContactCorrection is a correction of a contact's personal data at the customer's request
// (the right to rectification). A nil field is left as it is; "" clears it.
type ContactCorrection struct {
	Name  *string
	Phone *string // international format; stored in E.164
	Email *string
}

// FieldError is a correction value that is not valid; it wraps ErrInvalid and names the
// field (never the value: it is personal data).
type FieldError struct {
	Field  string // name, phone, email
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// nameMax bounds a corrected name (runes).
const nameMax = 200

// Normalize validates the correction and returns it with the phone in E.164, the e-mail
// trimmed and the name trimmed.
func (c ContactCorrection) Normalize() (ContactCorrection, error) {
	if c.Name == nil && c.Phone == nil && c.Email == nil {
		return c, fmt.Errorf("%w: nothing to correct (name, phone or email expected)", ErrInvalid)
	}
	var out ContactCorrection
	if c.Name != nil {
		n := strings.TrimSpace(*c.Name)
		switch {
		case !utf8.ValidString(n):
			return c, &FieldError{"name", "not valid UTF-8"}
		case utf8.RuneCountInString(n) > nameMax:
			return c, &FieldError{"name", fmt.Sprintf("longer than %d characters", nameMax)}
		case strings.IndexFunc(n, unicode.IsControl) >= 0:
			return c, &FieldError{"name", "has control characters"}
		}
		out.Name = &n
	}
	if c.Phone != nil {
		p := strings.TrimSpace(*c.Phone)
		if p != "" {
			if !strings.HasPrefix(p, "+") {
				return c, &FieldError{"phone", "international format expected: + and the country code"}
			}
			e164, ok := normPhone(p)
			if !ok {
				return c, &FieldError{"phone", "not a valid phone number"}
			}
			p = e164
		}
		out.Phone = &p
	}
	if c.Email != nil {
		e := strings.TrimSpace(*c.Email)
		if e != "" {
			a, err := mail.ParseAddress(e)
			if err != nil || a.Address != e || len(e) > 254 || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
				return c, &FieldError{"email", "not a valid e-mail address"}
			}
		}
		out.Email = &e
	}
	return out, nil
}

// Fields are the names of the fields the correction sets, in a fixed order.
func (c ContactCorrection) Fields() []string {
	var fs []string
	if c.Name != nil {
		fs = append(fs, "name")
	}
	if c.Phone != nil {
		fs = append(fs, "phone")
	}
	if c.Email != nil {
		fs = append(fs, "email")
	}
	return fs
}

// Corrected is the outcome of a correction.
type Corrected struct {
	Conversations []int64 // the corrected conversations
	ContactID     string  // the contact id afterwards: a form lead's follows its corrected phone / e-mail
}

// newContactID is the contact id after correction c (normalised), "" when unchanged: a web
// form lead's contact id is its phone number, else its e-mail address (webform), so it
// follows a correction of that value.
func newContactID(ref ContactRef, c ContactCorrection) string {
	if ref.Channel != channels.Form {
		return ""
	}
	var id string
	switch {
	case strings.HasPrefix(ref.ContactID, "+") && c.Phone != nil:
		id = *c.Phone
	case strings.Contains(ref.ContactID, "@") && c.Email != nil:
		id = strings.ToLower(*c.Email)
	}
	if id == ref.ContactID {
		return ""
	}
	return id
}

// CorrectContact corrects the contact's name, phone or e-mail in every conversation of that
// contact (its contact index, up to the newest 20, and its open conversation) in one atomic
// step (correct.lua): a changed phone or e-mail moves the conversations to the new one's
// index. Each conversation's transcript gets a note per field (who, when, which field; the
// old value is not kept), and the inbound stream copies that still carry the old values are
// removed (a forget job for the contact, run at once and retried by the sweeper). A
// supervisor may correct any contact; a lead-manager only one with a conversation assigned
// to them; otherwise ErrNotFound, as for a contact with no conversation. A web form lead's
// contact id (its phone number, else its e-mail) follows the correction of that value; it
// cannot be cleared (erase the conversations instead).
func (d *desk) CorrectContact(ctx context.Context, ref ContactRef, managerID string, c ContactCorrection) (*Corrected, error) {
	role := d.Role(managerID)
	if role == "" {
		return nil, ErrUnknownManager
	}
	c, err := c.Normalize()
	if err != nil {
		return nil, err
	}
	if ref.Channel == "" || ref.ContactID == "" {
		return nil, ErrNotFound
	}
	newID := newContactID(ref, c)
	if ref.Channel == channels.Form && newID == "" {
		switch {
		case strings.HasPrefix(ref.ContactID, "+") && c.Phone != nil && *c.Phone == "":
			return nil, &FieldError{"phone", "a form lead's phone number is its contact id: it can be corrected, not cleared"}
		case strings.Contains(ref.ContactID, "@") && c.Email != nil && *c.Email == "":
			return nil, &FieldError{"email", "a form lead's e-mail address is its contact id: it can be corrected, not cleared"}
		}
	}
	asker := managerID
	if role == RoleSupervisor {
		asker = ""
	}
	now := d.clock.Now()
	fields := c.Fields()
	lines := make([]string, len(fields))
	for i, f := range fields {
		note := locale.M("note.corrected", "manager", managerID, "field", locale.M("contact.field."+f))
		b, _ := json.Marshal(Message{Dir: "out", Kind: "note", ManagerID: managerID, Text: note.String(), Note: note.Encode(), At: now})
		lines[i] = string(b)
	}
	notes, _ := json.Marshal(lines)
	a := correctArgs{Now: ms(now), Channel: ref.Channel, Account: ref.Account, Contact: ref.ContactID, Manager: asker,
		Lines: string(notes), Limit: d.cfg.TranscriptLimit, Retention: d.cfg.Retention.Milliseconds()}
	if newID != "" {
		a.NewContact, a.NewContactHash = newID, d.keys.contactPseudonym(newID)
	}
	if c.Name != nil {
		a.SetName, a.Name = true, *c.Name
	}
	if c.Phone != nil {
		a.SetPhone, a.Phone, a.PhoneHash = true, *c.Phone, d.keys.phonePseudonym(*c.Phone)
	}
	if c.Email != nil {
		a.SetEmail, a.Email, a.EmailHash = true, *c.Email, d.keys.emailPseudonym(*c.Email)
	}
	res, err := correctScript.Run(ctx, d.rdb, d.keys.correctKeys(ref.Channel, ref.Account, ref.ContactID, newID), a.argv()...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("correct contact: %w", err)
	}
	if len(res) == 0 || res[0] != "ok" {
		return nil, ErrNotFound
	}
	ids := make([]int64, 0, len(res)-1)
	for _, s := range res[1:] {
		var id int64
		if _, err := fmt.Sscan(s, &id); err == nil {
			ids = append(ids, id)
		}
	}
	for _, f := range fields {
		d.m.Corrections.WithLabelValues(f).Inc()
	}
	d.log.Info("contact corrected on request", "conversations", ids, "fields", strings.Join(fields, ","), "by", managerID)
	if _, err := d.sweeper.forgetQueued(ctx); err != nil {
		d.log.Warn("old copies of a corrected contact not removed yet; the next sweep retries", "conversations", ids, "err", err)
	}
	return &Corrected{Conversations: ids, ContactID: cmp.Or(newID, ref.ContactID)}, nil
}
