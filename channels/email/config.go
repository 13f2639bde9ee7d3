package email

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// TLS modes of a server connection.
const (
	TLSImplicit = "implicit" // TLS from the first byte (IMAPS 993, SMTPS 465)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS before login (IMAP 143, submission 587)
	TLSNone     = "none"     // no TLS: tests and development on loopback only
)

// After-processing actions on an ingested message.
const (
	AfterSeen = "seen" // set \Seen
	AfterMove = "move" // move to move_to
	AfterNone = "none" // leave it as it is
)

// Config is the channels.email: section.
type Config struct {
	// Enabled turns the channel on. Absent or false: nothing runs and nothing is checked.
	Enabled bool `yaml:"enabled"`
	// LeaseTTL: one gateway instance reads a mailbox; it holds a Redis lease this long and
	// renews it every third of it (default 60s).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Timeout bounds connecting and every command (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// RetryAfter is the delay asked for after an SMTP 4xx answer (default 60s; the outbound
	// worker waits up to 30s itself and defers longer waits durably).
	RetryAfter time.Duration `yaml:"retry_after"`
	// MaxMessageBytes: a message is read up to this size (default 10 MiB); the text of a
	// bigger one is kept, attachments past the limit are not listed.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// MaxTextChars: the text of a message is cut to this many characters (default 10000).
	MaxTextChars int       `yaml:"max_text_chars"`
	Mailboxes    []Mailbox `yaml:"mailboxes"`
}

// Mailbox is one mailbox: read over IMAP, answered over SMTP.
type Mailbox struct {
	// Name identifies the mailbox in Redis keys, metrics and Outbound.Account.
	Name string `yaml:"name"`
	// Address is the mailbox's address: the From of replies (mail from it is never a lead).
	Address string `yaml:"address"`
	// DisplayName is the From name of replies (default none).
	DisplayName string `yaml:"display_name"`
	// Subject of a message that answers no customer mail (default "Your request").
	Subject string     `yaml:"subject"`
	IMAP    IMAPConfig `yaml:"imap"`
	SMTP    SMTPConfig `yaml:"smtp"`
}

// Server is a mail server connection.
type Server struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS: implicit (default) | starttls | none (loopback hosts only).
	TLS string `yaml:"tls"`
	// CAFile: PEM certificates trusted for this server instead of the system roots.
	CAFile   string `yaml:"ca_file"`
	Username string `yaml:"username"`
	// Password from the environment: password: ${EMAIL_SALES_PASSWORD}.
	Password string `yaml:"password"`
}

// IMAPConfig is a mailbox's IMAP intake.
type IMAPConfig struct {
	Server `yaml:",inline"`
	// Folder read for new mail (default INBOX).
	Folder string `yaml:"folder"`
	// IDLE: wait for new mail with IMAP IDLE when the server supports it (default true).
	Idle *bool `yaml:"idle"`
	// PollInterval: how often the folder is checked without IDLE, and the longest IDLE
	// before a re-check (default 60s).
	PollInterval time.Duration `yaml:"poll_interval"`
	// After: what is done to a message once it is ingested: seen (default) | move | none.
	After string `yaml:"after"`
	// MoveTo: the folder for after: move.
	MoveTo string `yaml:"move_to"`
}

// SMTPConfig is a mailbox's SMTP submission.
type SMTPConfig struct {
	Server `yaml:",inline"`
}

// IsEnabled reports whether the channel is on (enabled: true).
func (c *Config) IsEnabled() bool { return c.Enabled }

// Defaults fills unset fields of an enabled section.
func (c *Config) Defaults() {
	if !c.Enabled {
		return
	}
	conf.Default(&c.LeaseTTL, 60*time.Second)
	conf.Default(&c.Timeout, 30*time.Second)
	conf.Default(&c.RetryAfter, 60*time.Second)
	conf.Default(&c.MaxMessageBytes, int64(10<<20))
	conf.Default(&c.MaxTextChars, 10000)
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		conf.Default(&m.Subject, "Your request")
		conf.Default(&m.IMAP.TLS, TLSImplicit)
		conf.Default(&m.IMAP.Folder, "INBOX")
		conf.Default(&m.IMAP.PollInterval, 60*time.Second)
		conf.Default(&m.IMAP.After, AfterSeen)
		if m.IMAP.Idle == nil {
			t := true
			m.IMAP.Idle = &t
		}
		if m.IMAP.Port == 0 {
			m.IMAP.Port = 993
			if m.IMAP.TLS != TLSImplicit {
				m.IMAP.Port = 143
			}
		}
		conf.Default(&m.SMTP.TLS, TLSStartTLS)
		if m.SMTP.Port == 0 {
			m.SMTP.Port = 587
			if m.SMTP.TLS == TLSImplicit {
				m.SMTP.Port = 465
			}
		}
		conf.Default(&m.SMTP.Username, m.IMAP.Username)
		conf.Default(&m.SMTP.Password, m.IMAP.Password)
	}
}

// Validate checks the section; paths are relative to "channels.email".
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs conf.Errors
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.LeaseTTL < 3*time.Second {
		errs.Add("lease_ttl", "must be at least 3s")
	}
	if c.RetryAfter <= 0 || c.RetryAfter > time.Hour {
		errs.Add("retry_after", "must be positive and at most 1h")
	}
	if c.MaxMessageBytes < 64<<10 {
		errs.Add("max_message_bytes", "must be at least 65536")
	}
	if c.MaxTextChars < 100 {
		errs.Add("max_text_chars", "must be at least 100")
	}
	if len(c.Mailboxes) == 0 {
		errs.Add("mailboxes", "at least one mailbox is required when enabled")
	}
	names := map[string]int{}
	for i, m := range c.Mailboxes {
		p := fmt.Sprintf("mailboxes[%d]", i)
		switch {
		case m.Name == "":
			errs.Add(p+".name", "is required")
		case !conf.ValidName(m.Name):
			errs.Add(p+".name", "must be 1-32 characters of a-z, 0-9, '_' or '-' (got %q)", m.Name)
		default:
			if j, dup := names[m.Name]; dup {
				errs.Add(p+".name", "duplicates mailboxes[%d].name %q", j, m.Name)
			}
			names[m.Name] = i
		}
		if a, err := mail.ParseAddress(m.Address); err != nil || a.Address != m.Address {
			errs.Add(p+".address", "must be a bare e-mail address (got %q)", m.Address)
		}
		if strings.ContainsAny(m.DisplayName+m.Subject, "\r\n") {
			errs.Add(p+".display_name", "must be one line (display_name, subject)")
		}
		m.IMAP.Server.validate(&errs, p+".imap")
		m.SMTP.Server.validate(&errs, p+".smtp")
		if m.IMAP.PollInterval <= 0 {
			errs.Add(p+".imap.poll_interval", "must be positive")
		}
		switch m.IMAP.After {
		case AfterSeen, AfterNone:
		case AfterMove:
			if m.IMAP.MoveTo == "" || m.IMAP.MoveTo == m.IMAP.Folder {
				errs.Add(p+".imap.move_to", "is required with after: move and must differ from folder")
			}
		default:
			errs.Add(p+".imap.after", "must be seen, move or none (got %q)", m.IMAP.After)
		}
	}
	return errs.Err()
}

func (s *Server) validate(errs *conf.Errors, p string) {
	if s.Host == "" || strings.ContainsAny(s.Host, " /:") && net.ParseIP(s.Host) == nil {
		errs.Add(p+".host", "must be a host name or IP address (got %q)", s.Host)
	}
	if s.Port < 1 || s.Port > 65535 {
		errs.Add(p+".port", "must be 1-65535")
	}
	switch s.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if !isLoopback(s.Host) {
			errs.Add(p+".tls", "none sends the password in clear: allowed only for a loopback host (tests, development)")
		}
	default:
		errs.Add(p+".tls", "must be implicit, starttls or none (got %q)", s.TLS)
	}
	if s.CAFile != "" {
		if _, err := s.tlsConfig(); err != nil {
			errs.Add(p+".ca_file", "%v", err)
		}
	}
	if s.Username == "" {
		errs.Add(p+".username", "is required (set it from the environment)")
	}
	if s.Password == "" {
		errs.Add(p+".password", "is required (set it from the environment, e.g. ${EMAIL_PASSWORD})")
	}
}

// tlsConfig is the TLS configuration for the server: its host name verified against the
// system roots, or against ca_file.
func (s *Server) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate in %s", s.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (s *Server) addr() string { return net.JoinHostPort(s.Host, fmt.Sprint(s.Port)) }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
