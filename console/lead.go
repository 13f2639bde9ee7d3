package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/router"
)

// leadData is the Lead page.
type leadData struct {
	Conv          *router.Conversation
	Lines         []line
	TranscriptErr string
	Timeline      []router.TimelineEntry
	TimelineErr   string // "not available" until the timeline lands, or the error
	Leads         []member
	Form          contactForm
}

// line is one transcript message with its text in the reader's language.
type line struct {
	router.Message
	Shown string
}

// contactForm is the correction form: its values and the errors next to its fields.
type contactForm struct {
	Name, Phone, Email string
	Errs               map[string]string // field -> error text
}

func (c *Console) leadID(w http.ResponseWriter, r *http.Request, s *session) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.message(w, r, s, http.StatusNotFound, "console.error.not_found")
		return 0, false
	}
	return id, true
}

func (c *Console) lead(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := c.leadID(w, r, s)
	if !ok {
		return
	}
	c.renderLead(w, r, s, id, http.StatusOK, nil)
}

// renderLead renders the Lead page; form, when set, is a correction that failed validation.
func (c *Console) renderLead(w http.ResponseWriter, r *http.Request, s *session, id int64, code int, form *contactForm) {
	p := c.newPage(r, s, "")
	ctx := r.Context()
	cv, err := c.d.Desk.Conversation(ctx, id)
	if err != nil {
		if errors.Is(err, router.ErrNotFound) {
			c.message(w, r, s, http.StatusNotFound, "console.error.not_found")
			return
		}
		c.d.Log.Error("console: lead", "lead", id, "err", err)
		c.message(w, r, s, http.StatusInternalServerError, "console.error.failed")
		return
	}
	d := &leadData{Conv: cv, Form: contactForm{Name: cv.Name, Phone: cv.Phone, Email: cv.Email}}
	if form != nil {
		d.Form = *form
	}
	msgs, err := c.d.Desk.Transcript(ctx, id, 0)
	if err != nil {
		d.TranscriptErr = p.T("console.error." + errCode(err))
	}
	for _, m := range msgs {
		l := line{Message: m, Shown: m.Text}
		if msg, ok := locale.Decode(m.Note); ok {
			l.Shown = c.d.Locale.Render(p.Lang, msg)
		}
		d.Lines = append(d.Lines, l)
	}
	d.Timeline, err = c.d.Desk.Timeline(ctx, id)
	if err != nil {
		if errors.Is(err, router.ErrNotImplemented) {
			d.TimelineErr = p.T("console.lead.timeline_unavailable")
		} else {
			d.TimelineErr = p.T("console.error." + errCode(err))
		}
	}
	if team, err := c.d.Ops.Team(ctx); err == nil {
		for _, v := range team {
			if c.d.Desk.Role(v.ID) == router.RoleLead {
				d.Leads = append(d.Leads, member{ManagerView: v, Role: router.RoleLead})
			}
		}
	}
	p.Data = d
	c.render(w, "lead", code, p)
}

// correct corrects the contact's name, phone or e-mail (the fields that changed) in every
// conversation of the contact; an invalid value is shown next to its field (422).
func (c *Console) correct(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := c.leadID(w, r, s)
	if !ok {
		return
	}
	back := Prefix + "leads/" + strconv.FormatInt(id, 10)
	cv, err := c.d.Desk.Conversation(r.Context(), id)
	if err != nil {
		http.Redirect(w, r, back+"?err="+errCode(err), http.StatusSeeOther)
		return
	}
	form := contactForm{Name: r.PostFormValue("name"), Phone: r.PostFormValue("phone"), Email: r.PostFormValue("email")}
	var corr router.ContactCorrection
	if form.Name != cv.Name {
		corr.Name = &form.Name
	}
	if form.Phone != cv.Phone {
		corr.Phone = &form.Phone
	}
	if form.Email != cv.Email {
		corr.Email = &form.Email
	}
	if corr.Name == nil && corr.Phone == nil && corr.Email == nil {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	_, err = c.d.Desk.CorrectContact(r.Context(), router.ContactRef{Channel: cv.Channel, Account: cv.Account, ContactID: cv.ContactID}, s.Manager, corr)
	var fe *router.FieldError
	switch {
	case errors.As(err, &fe):
		p := c.newPage(r, s, "")
		form.Errs = map[string]string{fe.Field: p.T("console.lead.invalid_" + fieldName(fe.Field))}
		c.renderLead(w, r, s, id, http.StatusUnprocessableEntity, &form)
	case err != nil:
		c.d.Log.Warn("console: correct", "lead", id, "by", s.Manager, "err", err)
		http.Redirect(w, r, back+"?err="+errCode(err), http.StatusSeeOther)
	default:
		c.d.Log.Info("console: corrected", "lead", id, "by", s.Manager)
		http.Redirect(w, r, back+"?ok=corrected", http.StatusSeeOther)
	}
}

func fieldName(f string) string {
	switch f {
	case "name", "phone", "email":
		return f
	}
	return "value"
}
