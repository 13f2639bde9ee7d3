package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mdp/qrterminal/v3"
	"github.com/redis/go-redis/v9"
	"go.mau.fi/whatsmeow"
	waStore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/store"
)

// linkConnectedWait is how long linking waits for the first login after pairing (the device
// finishes its registration then).
const linkConnectedWait = 30 * time.Second

// RunLink links account as a new linked device. Without phone it prints QR codes to out (a new
// one every ~20 s) to scan under Settings > Linked devices; with phone (international format,
// e.g. +4915112345678) it prints a pairing code to enter on that phone instead. It returns
// once the device is linked and saved in the store.
func RunLink(ctx context.Context, cfg Config, account, phone string, out io.Writer, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	libLog := newLibLogger(log, cfg.LibraryLogLevel)
	devices, err := OpenDeviceStore(ctx, cfg.Store, libLog)
	if err != nil {
		return err
	}
	defer devices.Close()
	newClient := func(dev *waStore.Device) Client {
		c := newWAClient(dev, libLog.Sub("link")).(waClient)
		c.InitialAutoReconnect = false // report a failed connection instead of retrying in the background
		return c
	}
	return link(ctx, devices, newClient, clock.Real{}, account, phone, out, linkConnectedWait)
}

func link(ctx context.Context, devices *DeviceStore, newClient func(*waStore.Device) Client, clk clock.Clock,
	account, phone string, out io.Writer, connectedWait time.Duration) error {
	if account == "" {
		account = DefaultAccount
	}
	if !ValidAccountName(account) {
		return fmt.Errorf("invalid account name %q: use 1-32 lowercase letters, digits, '-' or '_'", account)
	}
	if phone != "" {
		p := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			if r == '+' || r == ' ' || r == '-' || r == '(' || r == ')' {
				return -1
			}
			return 'x'
		}, phone)
		if !strings.HasPrefix(strings.TrimSpace(phone), "+") || strings.Contains(p, "x") || len(p) < 7 {
			return errors.New("--phone must be the account's number in international format, e.g. +4915112345678")
		}
		phone = p
	}
	if _, err := devices.Device(ctx, account); err == nil {
		return fmt.Errorf("account %q is already linked; to link it again, remove the device on the phone "+
			"(Settings > Linked devices) and wait for serve to report it logged out, then run this again", account)
	} else if !errors.Is(err, ErrNotLinked) {
		return err
	}

	dev, err := devices.NewDevice(ctx, account)
	if err != nil {
		return err
	}
	cl := newClient(dev)
	paired := make(chan types.JID, 1)
	connected := make(chan struct{}, 1)
	cl.AddEventHandlerWithSuccessStatus(func(evt any) bool {
		switch e := evt.(type) {
		case *events.PairSuccess:
			select {
			case paired <- e.ID:
			default:
			}
		case *events.Connected:
			select {
			case connected <- struct{}{}:
			default:
			}
		case *events.Message, *events.Receipt:
			// nothing stores them here: withhold the ack so WhatsApp redelivers them to serve
			return false
		}
		return true
	})
	qr, err := cl.GetQRChannel(ctx)
	if err != nil {
		return fmt.Errorf("start pairing: %w", err)
	}
	if err := cl.Connect(ctx); err != nil {
		return fmt.Errorf("connect to WhatsApp: %w", err)
	}
	defer cl.Disconnect()

	codeShown := false
	for {
		var item whatsmeow.QRChannelItem
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case item, ok = <-qr:
		}
		if !ok {
			return errors.New("pairing ended without success; run the command again")
		}
		switch item.Event {
		case whatsmeow.QRChannelEventCode:
			if phone != "" {
				if codeShown {
					continue
				}
				code, err := cl.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
				if err != nil {
					return fmt.Errorf("request a pairing code: %w", err)
				}
				codeShown = true
				fmt.Fprintf(out, "Pairing code for account %q: %s\n"+
					"On the phone: WhatsApp > Settings > Linked devices > Link a device > Link with phone number instead, and enter the code.\n",
					account, code)
				continue
			}
			fmt.Fprintf(out, "\nScan with WhatsApp on the phone of account %q: Settings > Linked devices > Link a device.\n"+
				"(A new code appears every ~20 s.)\n", account)
			qrterminal.GenerateHalfBlock(item.Code, qrterminal.L, out)
		case whatsmeow.QRChannelSuccess.Event:
			var jid types.JID
			select {
			case jid = <-paired:
			default:
			}
			if jid.IsEmpty() && dev.ID != nil {
				jid = *dev.ID
			}
			if jid.IsEmpty() {
				return errors.New("pairing succeeded but the device id is unknown")
			}
			if err := devices.SetAccount(ctx, account, jid, clk.Now()); err != nil {
				return err
			}
			t := time.NewTimer(connectedWait)
			select {
			case <-connected:
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			fmt.Fprintf(out, "Linked account %q. Run (or keep running) `lidorub serve`: it connects linked accounts on its own.\n", account)
			return nil
		case whatsmeow.QRChannelTimeout.Event:
			return errors.New("no code was scanned in time; run the command again")
		case whatsmeow.QRChannelEventError:
			return fmt.Errorf("pairing failed: %w", item.Error)
		case whatsmeow.QRChannelClientOutdated.Event:
			return errors.New("WhatsApp says this client is outdated: upgrade lidorub")
		default:
			return fmt.Errorf("pairing failed: %s", item.Event)
		}
	}
}

// AccountStatus is one line of `lidorub whatsapp status`.
type AccountStatus struct {
	Name       string
	Configured bool
	Linked     bool
	LinkedAt   time.Time
	Connected  string // "yes", "no", or "unknown" (no Redis to ask)
	Instance   string // the process holding the connection
}

// Status reports every configured account (and any other account found in the store):
// whether it is linked, and from Redis, whether a gateway holds its connection.
func Status(ctx context.Context, cfg Config, devices *DeviceStore, rdb redis.UniversalClient, keys store.Keys) ([]AccountStatus, error) {
	infos, err := devices.Accounts(ctx, cfg.AccountNames())
	if err != nil {
		return nil, err
	}
	out := make([]AccountStatus, 0, len(infos))
	for _, info := range infos {
		s := AccountStatus{Name: info.Name, Configured: cfg.HasAccount(info.Name), Linked: info.Linked,
			LinkedAt: info.LinkedAt, Connected: "unknown"}
		if rdb != nil {
			vals, err := rdb.HGetAll(ctx, keys.Channel(channels.WhatsApp, info.Name, "status")).Result()
			if err != nil {
				return nil, fmt.Errorf("read status from redis: %w", err)
			}
			s.Connected = "no"
			if vals["connected"] == "1" {
				s.Connected = "yes"
			}
			s.Instance = vals["instance"]
		}
		out = append(out, s)
	}
	return out, nil
}

// RunStatus prints Status as a table. rdb may be nil (connected shows "unknown").
func RunStatus(ctx context.Context, cfg Config, rdb redis.UniversalClient, keys store.Keys, out io.Writer) error {
	devices, err := OpenDeviceStore(ctx, cfg.Store, nil)
	if err != nil {
		return err
	}
	defer devices.Close()
	list, err := Status(ctx, cfg, devices, rdb, keys)
	if err != nil {
		return err
	}
	return printStatus(list, out)
}

func printStatus(list []AccountStatus, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tCONFIGURED\tLINKED\tCONNECTED\tHELD BY")
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, s := range list {
		linked := yn(s.Linked)
		if s.Linked && !s.LinkedAt.IsZero() {
			linked += " (" + s.LinkedAt.Format("2006-01-02") + ")"
		}
		holder := s.Instance
		if holder == "" {
			holder = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, yn(s.Configured), linked, s.Connected, holder)
	}
	return tw.Flush()
}
