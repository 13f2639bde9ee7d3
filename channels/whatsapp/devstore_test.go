package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waAdv"
	waStore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

// simulatePair does what whatsmeow does when a phone scans the code: the device gets its
// JID and account identity and is saved in the store.
func simulatePair(t *testing.T, dev *waStore.Device, jid types.JID) {
	t.Helper()
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: bytes.Repeat([]byte{2}, 64),
		AccountSignatureKey: bytes.Repeat([]byte{3}, 32), DeviceSignature: bytes.Repeat([]byte{4}, 64)}
	if err := dev.Container.PutDevice(context.Background(), dev); err != nil {
		t.Fatalf("save paired device: %v", err)
	}
}

func openTestStore(t *testing.T, dir string) *DeviceStore {
	t.Helper()
	s, err := OpenDeviceStore(context.Background(), StoreConfig{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLiteStoreOpensUpgradesAndKeepsAccounts(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "wa")
	s := openTestStore(t, dir)

	if _, err := s.Device(ctx, "sales"); !errors.Is(err, ErrNotLinked) {
		t.Fatalf("fresh store: %v, want ErrNotLinked", err)
	}
	// whatsmeow's schema is at its latest version, with the pure-Go driver.
	var version int
	if err := s.dbs["sales"].db.QueryRowContext(ctx, `SELECT version FROM whatsmeow_version`).Scan(&version); err != nil || version < 11 {
		t.Fatalf("schema version %d, %v", version, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "sales.db"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}

	dev, err := s.NewDevice(ctx, "sales")
	if err != nil {
		t.Fatal(err)
	}
	jid := types.NewADJID("4930111111111", 0, 7)
	simulatePair(t, dev, jid)
	if err := s.SetAccount(ctx, "sales", jid, t0); err != nil {
		t.Fatal(err)
	}
	// A second account is its own file and its own device.
	dev2, _ := s.NewDevice(ctx, "support")
	jid2 := types.NewADJID("4930222222222", 0, 9)
	simulatePair(t, dev2, jid2)
	if err := s.SetAccount(ctx, "support", jid2, t0); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	// Reopen: the upgrade is a no-op on an up-to-date schema, and the link survives.
	s = openTestStore(t, dir)
	got, err := s.Device(ctx, "sales")
	if err != nil || got.ID == nil || *got.ID != jid {
		t.Fatalf("after reopen: %v %v", got, err)
	}
	list, err := s.Accounts(ctx, []string{"sales", "other"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, a := range list {
		lines = append(lines, a.Name+"="+map[bool]string{true: "linked", false: "unlinked"}[a.Linked])
	}
	if strings.Join(lines, " ") != "other=unlinked sales=linked support=linked" {
		t.Fatalf("accounts: %v", lines)
	}

	// Re-linking replaces the device and deletes the old session.
	dev3, _ := s.NewDevice(ctx, "sales")
	jid3 := types.NewADJID("4930111111111", 0, 8)
	simulatePair(t, dev3, jid3)
	if err := s.SetAccount(ctx, "sales", jid3, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if old, _ := s.dbs["sales"].container.GetDevice(ctx, jid); old != nil {
		t.Fatal("old device kept after re-linking")
	}

	// whatsmeow deletes a logged-out device: the account reads as not linked.
	got, _ = s.Device(ctx, "sales")
	if err := got.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Device(ctx, "sales"); !errors.Is(err, ErrNotLinked) {
		t.Fatalf("after logout: %v", err)
	}
}

// The real seam implementation over a real (offline) whatsmeow client and store.
func TestRealClientSeam(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	dev, _ := s.NewDevice(ctx, "sales")
	simulatePair(t, dev, types.NewADJID("4930111111111", 0, 7))

	c := newWAClient(dev, nil).(waClient)
	if !c.SynchronousAck || !c.EnableDecryptedEventBuffer || !c.EnableAutoReconnect {
		t.Fatal("client not configured for at-least-once delivery")
	}
	lid := types.NewJID("93528374651234", types.HiddenUserServer)
	pn := types.NewJID("4915112345678", types.DefaultUserServer)
	if err := dev.LIDs.PutLIDMapping(ctx, lid, pn); err != nil {
		t.Fatal(err)
	}
	if got, err := c.PNForLID(ctx, lid); err != nil || got != pn {
		t.Fatalf("PNForLID = %v, %v", got, err)
	}

	// Our handler on whatsmeow's own dispatcher: a false result is what withholds the ack.
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	e := newEnv(t, rdb, keys, clock.NewFake(t0), func(_ *Config, d *channels.Deps) {
		d.Ingester = store.NewIngest(closedPortRedis(t), keys, d.Clock, nil)
	})
	a := e.ch.accounts["sales"]
	a.client = c
	c.AddEventHandlerWithSuccessStatus(a.handle)
	if failed := c.DangerousInternals().DispatchEvent(loadMessage(t, "conversation.json")); !failed {
		t.Fatal("whatsmeow saw success although Redis is down")
	}
	e.ch.d.Ingester = store.NewIngest(rdb, keys, e.clock, nil)
	if failed := c.DangerousInternals().DispatchEvent(loadMessage(t, "lid_sender_store.json")); failed {
		t.Fatal("whatsmeow saw a failure although the message was stored")
	}
	items := inbound(t, rdb, keys)
	if len(items) != 1 || items[0].Phone != "+4915112345678" || items[0].Channel != channels.WhatsApp {
		t.Fatalf("stored %+v (LID should resolve through the real store)", items)
	}
}

func TestLibLoggerRedactsNumbers(t *testing.T) {
	var buf bytes.Buffer
	l := newLibLogger(newTextLogger(&buf), "debug")
	l.Sub("Recv").Warnf("Error decrypting message %s from %s: %v", "3EB0ABCDEF", "4915112345678:3@s.whatsapp.net", "no session")
	out := buf.String()
	if strings.Contains(out, "4915112345678") || !strings.Contains(out, "3EB0ABCDEF") || !strings.Contains(out, "module=Recv") {
		t.Fatalf("log line %q", out)
	}
	buf.Reset()
	newLibLogger(newTextLogger(&buf), "warn").Debugf("noise")
	if buf.Len() != 0 {
		t.Fatalf("debug line passed a warn filter: %q", buf.String())
	}
}

func TestLinkWithQRCode(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	jid := types.NewADJID("4930111111111", 0, 7)
	var fake *fakeClient
	newClient := func(dev *waStore.Device) Client {
		fake = newFakeClient()
		fake.onConnect = func() {
			// Two codes rotate, then the phone scans the second one.
			fake.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@first-code", Timeout: time.Minute}
			fake.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@second-code", Timeout: 20 * time.Second}
			simulatePair(t, dev, jid)
			fake.dispatch(&events.PairSuccess{ID: jid})
			fake.qr <- whatsmeow.QRChannelSuccess
			fake.dispatch(&events.Connected{})
		}
		return fake
	}
	var out bytes.Buffer
	if err := link(ctx, s, newClient, clock.NewFake(t0), "sales", "", &out, time.Second); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Count(text, "Scan with WhatsApp") != 2 || !strings.Contains(text, "▀") || !strings.Contains(text, `Linked account "sales"`) {
		t.Fatalf("output:\n%s", text)
	}
	dev, err := s.Device(ctx, "sales")
	if err != nil || *dev.ID != jid {
		t.Fatalf("linked device %v, %v", dev, err)
	}
	if _, d := fake.counts(); d != 1 {
		t.Fatal("link left the connection open")
	}
	// Linking again is refused with instructions.
	if err := link(ctx, s, newClient, clock.NewFake(t0), "sales", "", &out, time.Second); err == nil || !strings.Contains(err.Error(), "already linked") {
		t.Fatalf("second link: %v", err)
	}
}

// Messages and receipts that reach the new device while `whatsapp link` is still connected
// are not acknowledged: nothing stores them there, so WhatsApp must redeliver them to serve.
func TestLinkDoesNotAckMessages(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	jid := types.NewADJID("4930222222222", 0, 9)
	var msgAck, receiptAck bool
	newClient := func(dev *waStore.Device) Client {
		fake := newFakeClient()
		fake.onConnect = func() {
			fake.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@code", Timeout: time.Minute}
			simulatePair(t, dev, jid)
			fake.dispatch(&events.PairSuccess{ID: jid})
			fake.qr <- whatsmeow.QRChannelSuccess
			customer := types.NewJID("4915112345678", types.DefaultUserServer)
			msgAck = fake.dispatch(&events.Message{Info: types.MessageInfo{ID: "3EB0AAAA", Timestamp: t0,
				MessageSource: types.MessageSource{Chat: customer, Sender: customer}}})
			receiptAck = fake.dispatch(&events.Receipt{MessageSource: types.MessageSource{Chat: customer, Sender: customer},
				MessageIDs: []types.MessageID{"3EB0BBBB"}, Type: types.ReceiptTypeRead})
			fake.dispatch(&events.Connected{})
		}
		return fake
	}
	var out bytes.Buffer
	if err := link(ctx, s, newClient, clock.NewFake(t0), "sales", "", &out, time.Second); err != nil {
		t.Fatal(err)
	}
	if msgAck || receiptAck {
		t.Fatalf("link acknowledged what it does not store: message %v, receipt %v", msgAck, receiptAck)
	}
}

func TestLinkWithPairingCode(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	jid := types.NewADJID("4930111111111", 0, 7)
	var fake *fakeClient
	newClient := func(dev *waStore.Device) Client {
		fake = newFakeClient()
		fake.onConnect = func() {
			fake.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@first", Timeout: time.Minute}
			fake.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@second", Timeout: time.Minute}
			simulatePair(t, dev, jid)
			fake.dispatch(&events.PairSuccess{ID: jid})
			fake.qr <- whatsmeow.QRChannelSuccess
		}
		return fake
	}
	var out bytes.Buffer
	// No Connected event: linking still finishes after the (short) wait.
	if err := link(ctx, s, newClient, clock.NewFake(t0), "support", "+49 30 111 111 111", &out, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if fake.pairPhone != "4930111111111" || strings.Count(out.String(), "ABCD-EFGH") != 1 || strings.Contains(out.String(), "Scan") {
		t.Fatalf("phone %q, output:\n%s", fake.pairPhone, out.String())
	}
	if _, err := s.Device(ctx, "support"); err != nil {
		t.Fatal(err)
	}
}

func TestLinkFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		account string
		phone   string
		items   []whatsmeow.QRChannelItem
		want    string
	}{
		{"expired", "sales", "", []whatsmeow.QRChannelItem{{Event: "code", Code: "2@x"}, whatsmeow.QRChannelTimeout}, "no code was scanned"},
		{"pair error", "sales", "", []whatsmeow.QRChannelItem{{Event: whatsmeow.QRChannelEventError, Error: errBoom}}, "pairing failed: boom"},
		{"outdated", "sales", "", []whatsmeow.QRChannelItem{whatsmeow.QRChannelClientOutdated}, "upgrade lidorub"},
		{"bad phone", "sales", "030 1234", nil, "international format"},
		{"bad account", "Sales!", "", nil, "invalid account name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t, t.TempDir())
			newClient := func(*waStore.Device) Client {
				f := newFakeClient()
				f.onConnect = func() {
					for _, it := range tt.items {
						f.qr <- it
					}
				}
				return f
			}
			err := link(ctx, s, newClient, clock.NewFake(t0), tt.account, tt.phone, &bytes.Buffer{}, time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	s := openTestStore(t, t.TempDir())
	dev, _ := s.NewDevice(ctx, "sales")
	jid := types.NewADJID("4930111111111", 0, 7)
	simulatePair(t, dev, jid)
	if err := s.SetAccount(ctx, "sales", jid, t0); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Enabled: true, Accounts: []AccountConfig{{Name: "sales"}, {Name: "support"}}}
	cfg.Defaults()

	// A serving process holds "sales".
	e := newEnv(t, rdb, keys, clock.NewFake(t0), func(c *Config, d *channels.Deps) { d.Instance = "gw-1" })
	e.step(t)
	e.client("sales").dispatch(&events.Connected{})
	e.step(t)

	list, err := Status(ctx, cfg, s, rdb, keys)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printStatus(list, &out); err != nil {
		t.Fatal(err)
	}
	want := "ACCOUNT  CONFIGURED  LINKED            CONNECTED  HELD BY\n" +
		"sales    yes         yes (2026-11-28)  yes        gw-1\n" +
		"support  yes         no                no         -\n"
	if out.String() != want {
		t.Fatalf("status:\n%s\nwant:\n%s", out.String(), want)
	}
	list, _ = Status(ctx, cfg, s, nil, keys)
	if list[0].Connected != "unknown" {
		t.Fatalf("without redis: %+v", list[0])
	}
}
