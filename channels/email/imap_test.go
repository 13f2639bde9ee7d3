package email

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
)

// testConfig is a validated config with one mailbox "sales" on the given servers.
func testConfig(t *testing.T, imapSrv Server, smtpSrv Server, after string) Config {
	t.Helper()
	idle := true
	cfg := Config{Enabled: true, LeaseTTL: 3 * time.Second, Timeout: 5 * time.Second, RetryAfter: time.Second,
		MaxMessageBytes: 1 << 20, Mailboxes: []Mailbox{{
			Name: "sales", Address: testUser, DisplayName: "Shop Sales",
			IMAP: IMAPConfig{Server: imapSrv, Idle: &idle, PollInterval: 30 * time.Second, After: after, MoveTo: "Processed"},
			SMTP: SMTPConfig{Server: smtpSrv},
		}}}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTestChannel(t *testing.T, cfg Config, d channels.Deps) *Channel {
	t.Helper()
	ch, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func syncOnce(t *testing.T, ch *Channel) SyncResult {
	t.Helper()
	res, err := ch.SyncOnce(context.Background(), "sales")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestIntakeOverTLS(t *testing.T) {
	for _, mode := range []string{TLSImplicit, TLSStartTLS} {
		t.Run(mode, func(t *testing.T) {
			e := channeltest.NewEnv(t)
			srv := newIMAPServer(t, mode)
			ch := newTestChannel(t, testConfig(t, srv.server(), Server{Host: "127.0.0.1", Port: 1, TLS: TLSNone, Username: "u", Password: "p"}, AfterSeen), e.Deps())
			files := []string{"plain.eml", "html_only.eml", "autoreply.eml", "cp1251.eml", "bounce.eml", "koi8r.eml", "attachments.eml", "bulk.eml"}
			for _, f := range files {
				srv.appendMail(t, "INBOX", fixture(t, f))
			}
			res := syncOnce(t, ch)
			if !res.Leader || res.Handled != len(files) || res.Position != imap.UID(len(files)) {
				t.Fatalf("sync = %+v, want all %d handled", res, len(files))
			}
			var ids []string
			for _, in := range e.Stored(t) {
				ids = append(ids, in.MessageID)
				if in.Channel != Name || in.Account != "sales" || in.Text == "" {
					t.Errorf("stored %+v", in)
				}
			}
			want := []string{"plain-1@mail.example.ru", "html-1@corp.example", "cp1251-1@mail.example", "koi8-1@example.net", "att-1@example.com"}
			if !slices.Equal(ids, want) {
				t.Fatalf("stored %v, want %v (auto-replies, bounces and bulk mail never)", ids, want)
			}
			for uid, fl := range srv.flags(t, "INBOX") {
				if !seen(fl) {
					t.Errorf("uid %d not \\Seen after the sync", uid)
				}
			}
			if got := testutil.ToFloat64(ch.m.messages.WithLabelValues("sales", resAutomatic)); got != 3 {
				t.Errorf("automatic = %v, want 3", got)
			}
			// nothing new: nothing happens
			if res := syncOnce(t, ch); res.Handled != 0 || len(e.Stored(t)) != len(want) {
				t.Fatalf("second sync %+v", res)
			}
		})
	}
}

func TestTLSIsVerified(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSImplicit)
	s := srv.server()
	s.CAFile = "" // the system roots do not know the test CA
	cfg := testConfig(t, s, s, AfterSeen)
	ch := newTestChannel(t, cfg, e.Deps())
	srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	_, err := ch.SyncOnce(context.Background(), "sales")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatal("the error shows the password")
	}
	if len(e.Stored(t)) != 0 {
		t.Fatal("stored over an unverified connection")
	}
}

// crashingIngester makes the ingest durable and then fails, once: the process died after the
// message reached Redis and before the mailbox was told (flag, position).
type crashingIngester struct {
	channels.Ingester
	mu      sync.Mutex
	crashed bool
}

func (c *crashingIngester) Ingest(ctx context.Context, in channels.Inbound) (channels.IngestResult, error) {
	res, err := c.Ingester.Ingest(ctx, in)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && !c.crashed {
		c.crashed = true
		return res, errInjected
	}
	return res, err
}

func TestCrashBetweenIngestAndFlag(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSNone)
	d := e.Deps()
	d.Ingester = &crashingIngester{Ingester: d.Ingester}
	ch := newTestChannel(t, testConfig(t, srv.server(), srv.server(), AfterSeen), d)
	u1 := srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	u2 := srv.appendMail(t, "INBOX", fixture(t, "koi8r.eml"))

	if _, err := ch.SyncOnce(context.Background(), "sales"); err == nil {
		t.Fatal("the crash was not reported")
	}
	fl := srv.flags(t, "INBOX")
	if seen(fl[u1]) || seen(fl[u2]) {
		t.Fatal("a message was flagged although its ingest did not return")
	}
	if len(e.Stored(t)) != 1 {
		t.Fatalf("%d stored, want the 1 that reached Redis", len(e.Stored(t)))
	}
	// restarted: the message is read again, the dedupe keeps one copy, then it is flagged
	res := syncOnce(t, ch)
	if res.Handled != 2 || res.Position != u2 {
		t.Fatalf("after the restart %+v", res)
	}
	got := e.Stored(t)
	if len(got) != 2 || got[0].MessageID != "plain-1@mail.example.ru" || got[1].MessageID != "koi8-1@example.net" {
		t.Fatalf("stored %+v: want each message once, none lost", got)
	}
	fl = srv.flags(t, "INBOX")
	if !seen(fl[u1]) || !seen(fl[u2]) {
		t.Fatal("not flagged after the restart")
	}
	if dup := testutil.ToFloat64(ch.m.messages.WithLabelValues("sales", resDuplicate)); dup != 1 {
		t.Errorf("duplicates = %v, want 1", dup)
	}
}

func TestUIDValidityChange(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSNone)
	ch := newTestChannel(t, testConfig(t, srv.server(), srv.server(), AfterSeen), e.Deps())
	srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	srv.appendMail(t, "INBOX", fixture(t, "koi8r.eml"))
	first := syncOnce(t, ch)
	// The server rebuilt the folder (restore from backup, migration): new UIDVALIDITY, the
	// old mail back with new UIDs (and no \Seen), plus one new message.
	srv.recreateFolder(t, "INBOX")
	srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	srv.appendMail(t, "INBOX", fixture(t, "koi8r.eml"))
	srv.appendMail(t, "INBOX", fixture(t, "cp1251.eml"))
	res := syncOnce(t, ch)
	if res.Validity == first.Validity {
		t.Fatal("the test did not change UIDVALIDITY")
	}
	if res.Position != 3 {
		t.Fatalf("position %d after the rescan, want 3", res.Position)
	}
	var ids []string
	for _, in := range e.Stored(t) {
		ids = append(ids, in.MessageID)
	}
	if want := []string{"plain-1@mail.example.ru", "koi8-1@example.net", "cp1251-1@mail.example"}; !slices.Equal(ids, want) {
		t.Fatalf("stored %v, want %v (no duplicate, the new one taken)", ids, want)
	}
	if n := testutil.ToFloat64(ch.m.uidValidity.WithLabelValues("sales")); n != 1 {
		t.Errorf("uidvalidity changes = %v", n)
	}
}

func TestAfterMoveAndNone(t *testing.T) {
	t.Run("move", func(t *testing.T) {
		e := channeltest.NewEnv(t)
		srv := newIMAPServer(t, TLSNone)
		cfg := testConfig(t, srv.server(), srv.server(), AfterMove)
		cfg.Mailboxes[0].IMAP.MoveTo = "Leads" // not on the server yet: created
		ch := newTestChannel(t, cfg, e.Deps())
		srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
		syncOnce(t, ch)
		if len(srv.flags(t, "INBOX")) != 0 || len(srv.flags(t, "Leads")) != 1 || len(e.Stored(t)) != 1 {
			t.Fatal("the message was not ingested and moved to Leads")
		}
	})
	t.Run("none", func(t *testing.T) {
		e := channeltest.NewEnv(t)
		srv := newIMAPServer(t, TLSNone)
		ch := newTestChannel(t, testConfig(t, srv.server(), srv.server(), AfterNone), e.Deps())
		srv.appendMail(t, "INBOX", fixture(t, "plain.eml")) // before the first start: not taken
		if res := syncOnce(t, ch); res.Handled != 0 || res.Position != 1 {
			t.Fatalf("first start %+v: want only new mail", res)
		}
		u := srv.appendMail(t, "INBOX", fixture(t, "koi8r.eml"))
		if res := syncOnce(t, ch); res.Handled != 1 || res.Position != u {
			t.Fatalf("%+v", res)
		}
		if fl := srv.flags(t, "INBOX"); seen(fl[u]) || len(e.Stored(t)) != 1 {
			t.Fatal("after: none changed the message, or it was not stored")
		}
	})
}

func TestOneReaderPerMailbox(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSNone)
	cfg := testConfig(t, srv.server(), srv.server(), AfterSeen)
	a := newTestChannel(t, cfg, e.Deps())
	b := newTestChannel(t, cfg, e.Deps())
	srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	if res := syncOnce(t, a); !res.Leader || res.Handled != 1 {
		t.Fatalf("first reader %+v", res)
	}
	srv.appendMail(t, "INBOX", fixture(t, "koi8r.eml"))
	if res := syncOnce(t, b); res.Leader || res.Handled != 0 {
		t.Fatalf("second process read a mailbox whose lease the first holds: %+v", res)
	}
}

// waitStored polls the inbound stream until it holds n items (the reader works on its own
// goroutine against a real server; this is a wait for its effect, not for a timer).
func waitStored(t *testing.T, e *channeltest.Env, n int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if l, _ := e.Redis.XLen(context.Background(), e.Keys.Inbound()).Result(); l >= int64(n) {
			return time.Since(start)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%d items not stored within %s", n, limit)
	return 0
}

// TestIdleWakeUp measures append → ingested with the reader in IMAP IDLE. The poll interval
// and the lease (30 s, 60 s) are far above the limit, so only IDLE can wake it in time.
func TestIdleWakeUp(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSImplicit)
	cfg := testConfig(t, srv.server(), srv.server(), AfterSeen)
	cfg.LeaseTTL = 60 * time.Second
	reg := prometheus.NewRegistry()
	d := e.Deps()
	d.Registerer = reg
	ch := newTestChannel(t, cfg, d)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ch.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	waitStored(t, e, 1, 10*time.Second) // connected, first sync done, now idling
	var lat []time.Duration
	for i := range 5 {
		raw := strings.Replace(string(fixture(t, "koi8r.eml")), "<koi8-1@", fmt.Sprintf("<koi8-idle-%d@", i), 1)
		srv.appendMail(t, "INBOX", []byte(raw))
		lat = append(lat, waitStored(t, e, i+2, 5*time.Second))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("IDLE wake-up, append → ingested (5 runs): min %s, median %s, max %s", lat[0], lat[2], lat[4])
	cancel()
	<-done
	if v := testutil.ToFloat64(ch.m.leader.WithLabelValues("sales")); v != 0 {
		t.Error("the lease was not given up on shutdown")
	}
}

func TestPollingWithoutIdle(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSNone)
	cfg := testConfig(t, srv.server(), srv.server(), AfterSeen)
	*cfg.Mailboxes[0].IMAP.Idle = false
	cfg.Mailboxes[0].IMAP.PollInterval = 20 * time.Millisecond
	ch := newTestChannel(t, cfg, e.Deps())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ch.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	waitStored(t, e, 1, 5*time.Second)
	srv.appendMail(t, "INBOX", fixture(t, "koi8r.eml"))
	waitStored(t, e, 2, 5*time.Second)
}

func TestUIDValidityChangeOnEmptyFolder(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSNone)
	ch := newTestChannel(t, testConfig(t, srv.server(), srv.server(), AfterSeen), e.Deps())
	srv.appendMail(t, "INBOX", fixture(t, "plain.eml"))
	syncOnce(t, ch)
	srv.recreateFolder(t, "INBOX")
	syncOnce(t, ch)
	syncOnce(t, ch) // the new UIDVALIDITY was stored: no second rescan
	if n := testutil.ToFloat64(ch.m.uidValidity.WithLabelValues("sales")); n != 1 {
		t.Fatalf("uidvalidity changes = %v, want 1", n)
	}
	u := srv.appendMail(t, "INBOX", fixture(t, "koi8r.eml"))
	if res := syncOnce(t, ch); res.Handled != 1 || res.Position != u || len(e.Stored(t)) != 2 {
		t.Fatalf("%+v, %d stored", res, len(e.Stored(t)))
	}
}

func TestBigMessageIsReadUpToTheLimit(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSNone)
	cfg := testConfig(t, srv.server(), srv.server(), AfterSeen)
	cfg.MaxMessageBytes = 64 << 10
	ch := newTestChannel(t, cfg, e.Deps())
	raw := strings.Replace(string(fixture(t, "attachments.eml")), "--outer--", "--outer\r\nContent-Type: application/zip\r\n"+
		"Content-Disposition: attachment; filename=big.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
		strings.Repeat(strings.Repeat("A", 76)+"\r\n", 2000)+"--outer--", 1)
	srv.appendMail(t, "INBOX", []byte(raw))
	syncOnce(t, ch)
	st := e.Stored(t)
	if len(st) != 1 || st[0].Meta["partial"] != "1" || st[0].Meta["size"] != fmt.Sprint(len(raw)) ||
		!strings.Contains(st[0].Text, "Please see the estimate.") {
		t.Fatalf("stored %+v", st)
	}
}

func TestRefusedLoginAlertsOnce(t *testing.T) {
	e := channeltest.NewEnv(t)
	srv := newIMAPServer(t, TLSNone)
	s := srv.server()
	s.Password = "not-the-password-1"
	alerts := &alertLog{}
	d := e.Deps()
	d.Alerter = alerts
	ch := newTestChannel(t, testConfig(t, s, s, AfterSeen), d)
	for range 3 {
		_, err := ch.SyncOnce(context.Background(), "sales")
		if err == nil || strings.Contains(err.Error(), "not-the-password") {
			t.Fatalf("err = %v", err)
		}
	}
	if r := alerts.reasons(); len(r) != 1 || !strings.Contains(r[0], "email/sales: the IMAP server refused") {
		t.Fatalf("alerts %v, want one", r)
	}
}
