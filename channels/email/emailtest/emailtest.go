// Package emailtest runs real mail servers for tests: go-imap's in-memory IMAP server and a
// go-smtp server that keeps what it receives and answers with configured SMTP errors, on
// loopback ports, in plain text, with STARTTLS or with implicit TLS (a self-signed
// certificate a client trusts through CAFile).
package emailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The mailbox's login on both servers.
const (
	User     = "sales@shop.example"
	Password = "imap-secret-0001"
)

// TLS modes (the same words as the e-mail channel's configuration).
const (
	TLSImplicit = "implicit"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

// testCert is a self-signed certificate for 127.0.0.1 and the PEM file a client trusts it by.
type testCert struct {
	tls    *tls.Config
	caFile string
}

func newTestCert(t testing.TB) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return testCert{tls: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile: ca}
}

// IMAP is go-imap's in-memory IMAP server on a loopback port with the mailbox User and the
// folders INBOX and Processed.
type IMAP struct {
	Host   string // 127.0.0.1
	Port   int
	Mode   string // TLSImplicit, TLSStartTLS or TLSNone
	CAFile string // PEM of the certificate (TLS modes)

	user *imapmemserver.User
	cert testCert
}

// NewIMAP starts an IMAP server; it stops when the test ends.
func NewIMAP(t testing.TB, mode string) *IMAP {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(User, Password)
	for _, f := range []string{"INBOX", "Processed"} {
		if err := user.Create(f, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(user)
	s := &IMAP{user: user, Mode: mode, Host: "127.0.0.1"}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return flushingSession{mem.NewSession().(imapserver.SessionIMAP4rev2)}, nil, nil
		},
		Caps:   imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger: discardLogger{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case TLSNone:
		opts.InsecureAuth = true
	case TLSStartTLS:
		s.cert = newTestCert(t)
		opts.TLSConfig = s.cert.tls
	case TLSImplicit:
		s.cert = newTestCert(t)
		ln = tls.NewListener(ln, s.cert.tls)
	}
	srv := imapserver.New(opts)
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.CAFile = s.cert.caFile
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// flushingSession starts IDLE by sending the updates queued since the last command, as
// Dovecot and other servers do (the memory server otherwise holds a message appended
// between a client's last command and its IDLE until the next change).
type flushingSession struct{ imapserver.SessionIMAP4rev2 }

func (s flushingSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := s.Poll(w, true); err != nil {
		return err
	}
	return s.SessionIMAP4rev2.Idle(w, stop)
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// Append puts raw into folder as a delivery would, and returns its UID.
func (s *IMAP) Append(t testing.TB, folder string, raw []byte) imap.UID {
	t.Helper()
	d, err := s.user.Append(folder, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return d.UID
}

// Client is a second IMAP client, logged in (what a person's mail program would see).
func (s *IMAP) Client(t testing.TB) *imapclient.Client {
	t.Helper()
	opts := &imapclient.Options{TLSConfig: s.ClientTLS(t)}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	var cl *imapclient.Client
	var err error
	switch s.Mode {
	case TLSImplicit:
		cl, err = imapclient.DialTLS(addr, opts)
	case TLSStartTLS:
		cl, err = imapclient.DialStartTLS(addr, opts)
	default:
		cl, err = imapclient.DialInsecure(addr, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	if err := cl.Login(User, Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return cl
}

// Flags returns the flags of the messages of folder by UID.
func (s *IMAP) Flags(t testing.TB, folder string) map[imap.UID][]imap.Flag {
	t.Helper()
	cl := s.Client(t)
	sel, err := cl.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]imap.Flag{}
	if sel.NumMessages == 0 {
		return out
	}
	msgs, err := cl.Fetch(imap.SeqSetNum(1, sel.NumMessages), &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		out[m.UID] = m.Flags
	}
	return out
}

// Seen reports whether fl holds \\Seen.
func Seen(fl []imap.Flag) bool {
	for _, f := range fl {
		if f == imap.FlagSeen {
			return true
		}
	}
	return false
}

// RecreateFolder deletes and re-creates a folder: it comes back empty with a new UIDVALIDITY.
func (s *IMAP) RecreateFolder(t testing.TB, folder string) {
	t.Helper()
	if err := s.user.Delete(folder); err != nil {
		t.Fatal(err)
	}
	if err := s.user.Create(folder, nil); err != nil {
		t.Fatal(err)
	}
}

// SMTP is go-smtp's server on a loopback port, requiring AUTH PLAIN (User, Password), that
// keeps what it receives and answers with a configured SMTP error while one is set.
type SMTP struct {
	Host   string // 127.0.0.1
	Port   int
	Mode   string
	CAFile string

	cert testCert

	mu      sync.Mutex
	msgs    []Received
	failRcp *smtp.SMTPError // answer to RCPT TO
	failDat *smtp.SMTPError // answer to DATA
	authed  int
}

// Received is one message the SMTP server accepted.
type Received struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data []byte   // the message as sent
}

// NewSMTP starts an SMTP server; it stops when the test ends.
func NewSMTP(t testing.TB, mode string) *SMTP {
	t.Helper()
	s := &SMTP{Mode: mode, Host: "127.0.0.1"}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = discardLogger{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case TLSNone:
		srv.AllowInsecureAuth = true
	case TLSStartTLS:
		s.cert = newTestCert(t)
		srv.TLSConfig = s.cert.tls
	case TLSImplicit:
		s.cert = newTestCert(t)
		ln = tls.NewListener(ln, s.cert.tls)
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.CAFile = s.cert.caFile
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Fail makes the server answer RCPT TO with rcpt and DATA with data (nil: accept) until
// the next Fail.
func (s *SMTP) Fail(rcpt, data *smtp.SMTPError) {
	s.mu.Lock()
	s.failRcp, s.failDat = rcpt, data
	s.mu.Unlock()
}

// Received returns the messages accepted so far.
func (s *SMTP) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

type smtpSession struct {
	s      *SMTP
	authed bool
	cur    Received
}

func (x *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != User || pass != Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		x.authed = true
		x.s.mu.Lock()
		x.s.authed++
		x.s.mu.Unlock()
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !x.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	x.cur = Received{From: from}
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	f := x.s.failRcp
	x.s.mu.Unlock()
	if f != nil {
		return f
	}
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.failDat != nil {
		return x.s.failDat
	}
	x.cur.Data = b
	x.s.msgs = append(x.s.msgs, x.cur)
	return nil
}

func (x *smtpSession) Reset()        { x.cur = Received{} }
func (x *smtpSession) Logout() error { return nil }

// ClientTLS is the TLS configuration that trusts the server's certificate.
func (s *IMAP) ClientTLS(t testing.TB) *tls.Config { return clientTLS(t, s.cert) }

func clientTLS(t testing.TB, c testCert) *tls.Config {
	t.Helper()
	cfg := &tls.Config{ServerName: "127.0.0.1"}
	if c.caFile != "" {
		pemBytes, err := os.ReadFile(c.caFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(pemBytes)
	}
	return cfg
}
