package email

import (
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
)

// contractUpstream is a mailbox: a delivery is a message put into the INBOX of a real IMAP
// server and read by one sync; it is acknowledged when the message is flagged \Seen and the
// stored position has moved past its UID. Replies go to a real SMTP server.
//
// Not applicable: "a bad signature or secret stores nothing" — mail is fetched by the
// gateway over an authenticated, verified TLS connection; nothing is pushed to it.
type contractUpstream struct {
	m *mailEnv
}

func TestContract(t *testing.T) {
	channeltest.Run(t, func(t *testing.T, e *channeltest.Env, d channels.Deps) channeltest.Upstream {
		im := newIMAPServer(t, TLSNone)
		sm := newSMTPServer(t, TLSNone)
		ch := newTestChannel(t, testConfig(t, im.server(), sm.server(), AfterSeen), d)
		return contractUpstream{m: &mailEnv{e: e, imap: im, smtp: sm, ch: ch}}
	})
}

func (u contractUpstream) Deliver(t *testing.T, id string) bool {
	raw := strings.Replace(string(fixture(t, "plain.eml")), "<plain-1@mail.example.ru>", "<"+id+"@contract.test>", 1)
	uid := u.m.imap.appendMail(t, "INBOX", []byte(raw))
	res, err := u.m.ch.SyncOnce(context.Background(), "sales")
	return err == nil && res.Leader && res.Position >= uid && seen(u.m.imap.flags(t, "INBOX")[uid])
}

func (u contractUpstream) SendRefused(t *testing.T) error {
	u.m.smtp.fail(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, nil)
	_, err := u.m.ch.Send(context.Background(), reply("1", "refused", "gone@example.org", "hello"))
	return err
}

func (u contractUpstream) SendRateLimited(t *testing.T) error {
	u.m.smtp.fail(&smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "too many messages, slow down"}, nil)
	_, err := u.m.ch.Send(context.Background(), reply("1", "limited", "busy@example.org", "hello"))
	return err
}
