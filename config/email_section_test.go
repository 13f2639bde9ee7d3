package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The commented e-mail example in config.yaml, uncommented, loads with its credentials from
// the environment; mistakes are reported with channels.email paths and without passwords.
func TestEmailSection(t *testing.T) {
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	in := false
	for i, l := range lines {
		switch {
		case l == "  # email:":
			in = true
		case in && !strings.HasPrefix(l, "  # "):
			in = false
		}
		if in {
			lines[i] = "  " + strings.TrimPrefix(l, "  # ")
		}
	}
	cfg, err := Parse([]byte(strings.Join(lines, "\n")), env(map[string]string{"EMAIL_SALES_USER": "sales@example.com", "EMAIL_SALES_PASSWORD": "mail-secret-1"}))
	if err != nil {
		t.Fatalf("uncommented example: %v", err)
	}
	em := cfg.Channels.Email
	if !em.Enabled || len(em.Mailboxes) != 1 || em.LeaseTTL != time.Minute || em.RetryAfter != time.Minute {
		t.Fatalf("email: %+v", em)
	}
	mb := em.Mailboxes[0]
	if mb.Name != "sales" || mb.IMAP.Port != 993 || mb.IMAP.TLS != "implicit" || mb.IMAP.Password != "mail-secret-1" ||
		mb.IMAP.After != "seen" || !*mb.IMAP.Idle || mb.SMTP.Port != 587 || mb.SMTP.TLS != "starttls" ||
		mb.SMTP.Username != "sales@example.com" || mb.SMTP.Password != "mail-secret-1" {
		t.Errorf("mailbox: %+v", mb)
	}

	bad := "channels:\n  email:\n    enabled: true\n    mailboxes:\n" +
		"      - name: Sales\n        address: \"Sales <sales@example.com>\"\n" +
		"        imap: {host: imap.example.com, tls: none, username: u, password: pw-leak-check}\n" +
		"        smtp: {host: smtp.example.com, tls: ssl}\n" +
		"      - name: b\n        address: b@example.com\n" +
		"        imap: {host: 127.0.0.1, tls: none, username: u, password: p, after: move}\n" +
		"        smtp: {host: 127.0.0.1, tls: none, username: u, password: p}\n"
	_, err = Parse([]byte(bad), env(nil))
	if err == nil {
		t.Fatal("a bad e-mail section validated")
	}
	for _, want := range []string{
		`channels.email.mailboxes[0].name: must be 1-32 characters`,
		`channels.email.mailboxes[0].address: must be a bare e-mail address`,
		`channels.email.mailboxes[0].imap.tls: none sends the password in clear: allowed only for a loopback host`,
		`channels.email.mailboxes[0].smtp.tls: must be implicit, starttls or none (got "ssl")`,
		`channels.email.mailboxes[1].imap.move_to: is required with after: move`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pw-leak-check") {
		t.Errorf("a password in a config error: %v", err)
	}
}
