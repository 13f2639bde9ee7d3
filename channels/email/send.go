package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
)

// Send submits out over the mailbox's SMTP server as a reply in the contact's thread.
// SMTP 4xx answers are a *channels.RetryAfterError (retried after retry_after), 5xx answers
// channels.Permanent; connection and TLS failures are temporary.
func (c *Channel) Send(ctx context.Context, out channels.Outbound) (channels.SendResult, error) {
	mb, ok := c.boxes[out.Account]
	if !ok {
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.account_not_configured", "channel", "e-mail", "account", out.Account))
	}
	to, err := mail.ParseAddress(out.ContactID)
	if err != nil || to.Address != out.ContactID {
		return channels.SendResult{}, channels.Permanent(locale.Errorf("failure.no_recipient", "channel", "e-mail"))
	}
	th, err := c.threads.get(ctx, mb.Name, out.ContactID)
	if err != nil {
		return channels.SendResult{}, err
	}
	id := messageID(mb, out)
	raw, err := compose(mb, out, th, id, c.d.Clock.Now())
	if err != nil {
		return channels.SendResult{}, channels.Permanent(fmt.Errorf("email: compose: %w", err))
	}
	if err := c.submit(ctx, mb, out.ContactID, raw); err != nil {
		return channels.SendResult{}, c.sendFailed(ctx, mb, err)
	}
	c.m.sends.WithLabelValues(mb.Name, sendOK).Inc()
	c.clear(mb.Name, "smtp_login")
	if err := c.threads.noteSent(ctx, mb.Name, out.ContactID, id, out.ConversationID, th); err != nil {
		// The mail has left: a failure here costs only the threading of a later answer.
		c.d.Log.Warn("email: could not record a sent message id", "mailbox", mb.Name, "outbound", out.ID, "err", err)
	}
	return channels.SendResult{ChannelMessageID: id}, nil
}

// messageID is the Message-ID of out: the same on every retry of one outbound message
// (its id and creation time), unique across installations and conversations.
func messageID(mb Mailbox, out channels.Outbound) string {
	sum := sha256.Sum256([]byte(mb.Name + "\x00" + out.ID + "\x00" + out.CreatedAt.UTC().Format(time.RFC3339Nano)))
	_, domain, _ := strings.Cut(mb.Address, "@")
	return "lidorub." + safeID(out.ID) + "." + hex.EncodeToString(sum[:8]) + "@" + domain
}

func safeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, clip(s, 64))
}

// compose builds the message: From the mailbox, To the contact, Re: and the subject of the
// conversation's first mail (its meta), In-Reply-To / References of the thread, UTF-8 text in quoted-printable. Automatic
// messages carry Auto-Submitted: auto-replied (RFC 3834), so other robots do not answer.
func compose(mb Mailbox, out channels.Outbound, th thread, id string, now time.Time) ([]byte, error) {
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: mb.DisplayName, Address: mb.Address}})
	h.SetAddressList("To", []*gomail.Address{{Address: out.ContactID}})
	subject := mb.Subject
	if s := strings.TrimSpace(out.Meta["subject"]); s != "" { // the conversation's first mail
		subject = s
		if !isReplySubject(s) {
			subject = "Re: " + s
		}
	}
	h.Set("Subject", encodeSubject(subject))
	h.SetMessageID(id)
	if th.LastID != "" {
		h.SetMsgIDList("In-Reply-To", []string{th.LastID})
	}
	if len(th.Refs) > 0 {
		h.SetMsgIDList("References", th.Refs)
	}
	if !out.Human() {
		h.Set("Auto-Submitted", "auto-replied")
	}
	h.Set("MIME-Version", "1.0")
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(out.Text, "\r\n", "\n")
	for _, a := range out.Attachments {
		// Files are not attached: their references (links) are listed.
		line := a.Ref
		if a.Name != "" {
			line = a.Name + ": " + a.Ref
		}
		if strings.TrimSpace(line) != "" {
			text += "\n" + line
		}
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(text, "\n", "\r\n")+"\r\n"); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeSubject returns s as it goes into the header: ASCII as it is (folded at spaces by
// the writer), anything else as RFC 2047 B-encoded UTF-8 words of at most 30 input bytes,
// so every folded header line stays within 78 octets.
func encodeSubject(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			ascii = false
			break
		}
	}
	if ascii && !strings.Contains(s, "=?") {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := min(30, len(s))
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// submit delivers raw to the mailbox's submission server: TLS as configured, AUTH when the
// server offers it (PLAIN, else LOGIN), one recipient.
func (c *Channel) submit(ctx context.Context, mb Mailbox, to string, raw []byte) error {
	s := mb.SMTP.Server
	tcfg, err := s.tlsConfig()
	if err != nil {
		return err
	}
	dl := time.Now().Add(4 * c.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	dctx, cancel := context.WithDeadline(ctx, dl)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", s.addr())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.addr(), err)
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetDeadline(dl)
	var cl *smtp.Client
	switch s.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, tcfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return fmt.Errorf("tls: %w", err)
		}
		cl = smtp.NewClient(tc)
	case TLSStartTLS:
		if cl, err = smtp.NewClientStartTLS(conn, tcfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	default:
		cl = smtp.NewClient(conn)
	}
	defer cl.Close()
	cl.CommandTimeout, cl.SubmissionTimeout = c.cfg.Timeout, 2*c.cfg.Timeout
	_, domain, _ := strings.Cut(mb.Address, "@")
	if err := cl.Hello(domain); err != nil {
		return err
	}
	if ok, _ := cl.Extension("AUTH"); ok {
		a := sasl.NewPlainClient("", s.Username, s.Password)
		if !cl.SupportsAuth(sasl.Plain) && cl.SupportsAuth(sasl.Login) {
			a = sasl.NewLoginClient(s.Username, s.Password)
		}
		if err := cl.Auth(a); err != nil {
			return err
		}
	}
	if err := cl.SendMail(mb.Address, []string{to}, bytes.NewReader(raw)); err != nil {
		return err
	}
	_ = cl.Quit()
	return nil
}

// sendFailed classifies a submission failure and counts it. The returned error names the
// SMTP code, never the server's text (it may repeat the address) or credentials.
func (c *Channel) sendFailed(ctx context.Context, mb Mailbox, err error) error {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		c.m.sends.WithLabelValues(mb.Name, sendError).Inc()
		return fmt.Errorf("email: submission to %s failed: %w", mb.SMTP.addr(), err)
	}
	code := fmt.Sprint(se.Code)
	if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
		code += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	if se.Code >= 400 && se.Code < 500 {
		c.m.sends.WithLabelValues(mb.Name, sendTemporary).Inc()
		return &channels.RetryAfterError{After: c.cfg.RetryAfter, Err: fmt.Errorf("email: the mail server asked to try later (%s)", code)}
	}
	c.m.sends.WithLabelValues(mb.Name, sendPermanent).Inc()
	key := "failure.email.refused"
	switch {
	case se.Code == 535 || se.Code == 534 || se.Code == 530:
		key = "failure.email.login"
		c.alert(ctx, mb.Name, "smtp_login", "the SMTP server refused the mailbox's login (wrong or expired password?)")
	case se.EnhancedCode[0] == 5 && se.EnhancedCode[1] == 1:
		key = "failure.email.recipient"
	case se.Code == 552 || se.EnhancedCode[1] == 3:
		key = "failure.email.size"
	case se.EnhancedCode[1] == 7:
		key = "failure.email.policy"
	}
	// the server's text is left out: it often repeats the address
	return channels.Permanent(locale.Errorf(key, "detail", "SMTP "+code))
}
