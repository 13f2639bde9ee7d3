package email

import (
	"errors"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/lidorub/lidorub/channels/email/emailtest"
)

// The package's tests run against the real servers of emailtest; these wrappers give them
// the channel's Server configuration.

const (
	testUser     = emailtest.User
	testPassword = emailtest.Password
)

var errInjected = errors.New("injected failure")

type imapServer struct{ *emailtest.IMAP }

func newIMAPServer(t *testing.T, mode string) *imapServer {
	return &imapServer{emailtest.NewIMAP(t, mode)}
}

// server is the channel's configuration for this server.
func (s *imapServer) server() Server {
	return Server{Host: s.Host, Port: s.Port, TLS: s.Mode, CAFile: s.CAFile, Username: testUser, Password: testPassword}
}

func (s *imapServer) appendMail(t *testing.T, folder string, raw []byte) imap.UID {
	return s.Append(t, folder, raw)
}

func (s *imapServer) flags(t *testing.T, folder string) map[imap.UID][]imap.Flag {
	return s.Flags(t, folder)
}

func (s *imapServer) recreateFolder(t *testing.T, folder string) { s.RecreateFolder(t, folder) }

func seen(fl []imap.Flag) bool { return emailtest.Seen(fl) }

type smtpServer struct{ *emailtest.SMTP }

type received = emailtest.Received

func newSMTPServer(t *testing.T, mode string) *smtpServer {
	return &smtpServer{emailtest.NewSMTP(t, mode)}
}

func (s *smtpServer) server() Server {
	return Server{Host: s.Host, Port: s.Port, TLS: s.Mode, CAFile: s.CAFile, Username: testUser, Password: testPassword}
}

func (s *smtpServer) fail(rcpt, data *smtp.SMTPError) { s.Fail(rcpt, data) }

func (s *smtpServer) received() []received { return s.Received() }
