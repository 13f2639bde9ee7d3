package router

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/internal/phone"
)

// PreChat is router.prechat: questions the bot asks a new lead while it waits for a
// lead-manager, one at a time, each after the customer's answer to the one before. The
// answers are kept on the lead (Conversation.PreChat). The questions never delay the offer
// (it goes out exactly as without them) and stop the moment a human answers. They are asked
// only where the bot may write: channels with a sender, not on Instagram comments, and only
// in answer to a message of the last 24 hours (the messaging window of Meta's channels).
// Every step is decided in process.lua with the message it answers, so several gateway
// processes never ask twice.
type PreChat struct {
	// Channels the questions are asked on (names of channels: sections, e.g. telegram,
	// instagram, whatsapp, whatsappcloud; not form, which cannot write to the customer). None
	// (the default) switches pre-chat questions off. The config checks that each is a channel.
	Channels []string `yaml:"channels"`
	// Questions in the order asked: name, interest, phone (default: all three). Their texts
	// are the catalogue's customer.prechat.<question>; a text switched off ("-") skips it.
	// The phone is not asked for when the lead has one (WhatsApp, a form with a phone).
	Questions []string `yaml:"questions"`
	// PhoneRegion is the region of phone answers written without a country code (default RU).
	PhoneRegion string `yaml:"phone_region"`
}

// Pre-chat questions.
const (
	QuestionName     = "name"
	QuestionInterest = "interest"
	QuestionPhone    = "phone"
)

var prechatQuestions = []string{QuestionName, QuestionInterest, QuestionPhone}

// prechatWindow: questions answer only messages younger than this (Meta's messaging window).
const prechatWindow = 24 * time.Hour

// maxAnswerChars bounds a stored answer.
const maxAnswerChars = 300

// Defaults fills unset fields.
func (p *PreChat) Defaults() {
	if len(p.Channels) > 0 && len(p.Questions) == 0 {
		p.Questions = slices.Clone(prechatQuestions)
	}
	conf.Default(&p.PhoneRegion, "RU")
}

// Validate checks the section; paths are relative to "prechat".
func (p *PreChat) Validate() error {
	var errs conf.Errors
	seen := map[string]bool{}
	for i, ch := range p.Channels {
		switch {
		case ch == channels.Form:
			errs.Add(fmt.Sprintf("channels[%d]", i), "the web form cannot write to the customer: no questions can be asked there")
		case !conf.ValidName(ch):
			errs.Add(fmt.Sprintf("channels[%d]", i), "must be a channel name such as telegram (got %q)", ch)
		case seen[ch]:
			errs.Add(fmt.Sprintf("channels[%d]", i), "%s is listed twice", ch)
		}
		seen[ch] = true
	}
	seen = map[string]bool{}
	for i, q := range p.Questions {
		switch {
		case !slices.Contains(prechatQuestions, q):
			errs.Add(fmt.Sprintf("questions[%d]", i), "must be one of %s (got %q)", strings.Join(prechatQuestions, ", "), q)
		case seen[q]:
			errs.Add(fmt.Sprintf("questions[%d]", i), "%s is asked twice", q)
		}
		seen[q] = true
	}
	if phonenumbers.GetCountryCodeForRegion(p.PhoneRegion) == 0 {
		errs.Add("phone_region", "must be a two-letter region code such as RU or GB (got %q)", p.PhoneRegion)
	}
	return errs.Err()
}

// prechatArgs are process.lua's pre-chat arguments for one customer message ("" Questions:
// no pre-chat for it).
type prechatArgs struct {
	Questions string // comma-separated, in order
	Texts     string // JSON object: intro, each question, phone_invalid, thanks
	Out       string // outbound JSON with "__CID__", "__OID__" and "__TEXT__" placeholders
	Line      string // transcript line JSON with the same placeholders
	Answer    string // the message as an answer ("" = no text: not an answer)
	Phone     string // the answer as an E.164 number ("" = not a valid number)
	PhoneHash string // its pseudonym (contact index)
}

// prechatFor decides whether the bot may ask questions in answer to in and prepares them.
func (a *inboundApplier) prechatFor(in channels.Inbound, spam bool, firstIn, now time.Time) (prechatArgs, bool) {
	pc := &a.cfg.PreChat
	if in.Kind != channels.KindMessage || spam || in.NoAutoReply || !slices.Contains(pc.Channels, in.Channel) ||
		a.senders.get(in.Channel) == nil || now.Sub(firstIn) >= prechatWindow {
		return prechatArgs{}, false
	}
	qs, texts := a.prechatTexts(in)
	if len(qs) == 0 {
		return prechatArgs{}, false
	}
	tb, _ := json.Marshal(texts)
	out := channels.Outbound{ID: "c__CID__-__OID__", ConversationID: "__CID__", Channel: in.Channel, Account: in.Account,
		ContactID: in.ContactID, Kind: "prechat", Text: "__TEXT__", Meta: in.Meta, CreatedAt: now}
	ob, _ := json.Marshal(out)
	lb, _ := json.Marshal(Message{Dir: "out", Kind: "prechat", Text: "__TEXT__", ID: out.ID, At: now})
	p := prechatArgs{Questions: strings.Join(qs, ","), Texts: string(tb), Out: string(ob), Line: string(lb)}
	p.Answer = strings.TrimSpace(in.Text)
	if utf8.RuneCountInString(p.Answer) > maxAnswerChars {
		p.Answer = string([]rune(p.Answer)[:maxAnswerChars]) + "…"
	}
	if p.Answer != "" && slices.Contains(qs, QuestionPhone) {
		if e, ok := phone.E164(p.Answer, pc.PhoneRegion); ok {
			p.Phone = e
		}
	}
	return p, true
}

// prechatTexts are the questions to ask a customer of in's channel account (those whose text
// is not switched off) and the texts process.lua picks from.
func (a *inboundApplier) prechatTexts(in channels.Inbound) ([]string, map[string]string) {
	lang := a.customerLang(in)
	texts := map[string]string{}
	var qs []string
	for _, q := range a.cfg.PreChat.Questions {
		if t := a.tpl.cat.T(lang, "customer.prechat."+q); t != "" {
			qs = append(qs, q)
			texts[q] = t
		}
	}
	if len(qs) == 0 {
		return nil, nil
	}
	texts["intro"] = a.tpl.cat.T(lang, "customer.prechat.intro")
	texts["phone_invalid"] = a.tpl.cat.T(lang, "customer.prechat.phone_invalid")
	texts["thanks"] = a.tpl.cat.T(lang, "customer.prechat.thanks")
	return qs, texts
}
