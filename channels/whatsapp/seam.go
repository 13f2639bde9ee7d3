package whatsapp

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	waStore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// Client is the seam over *whatsmeow.Client: the few calls this package makes on a live
// WhatsApp connection. The real implementation (waClient) is one line per method and is the
// only code that needs the WhatsApp network; everything behind it (event mapping, ack
// decisions, leases, sending, health) is tested against a fake Client and real Redis.
type Client interface {
	// Connect opens the websocket (and logs in, or starts QR pairing for a new device).
	Connect(ctx context.Context) error
	Disconnect()
	IsConnected() bool
	SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	// AddEventHandlerWithSuccessStatus registers h; returning false from h withholds the
	// ack so WhatsApp redelivers the message.
	AddEventHandlerWithSuccessStatus(h whatsmeow.EventHandlerWithSuccessStatus) uint32
	// GetQRChannel must be called before Connect on an unpaired device.
	GetQRChannel(ctx context.Context) (<-chan whatsmeow.QRChannelItem, error)
	PairPhone(ctx context.Context, phone string, showPushNotification bool, clientType whatsmeow.PairClientType, clientDisplayName string) (string, error)
	// PNForLID resolves a LID (hidden user id) to the phone-number JID the store knows for it.
	PNForLID(ctx context.Context, lid types.JID) (types.JID, error)
}

// waClient is the real Client.
type waClient struct{ *whatsmeow.Client }

func (c waClient) Connect(ctx context.Context) error { return c.Client.ConnectContext(ctx) }

func (c waClient) PNForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	return c.Client.Store.LIDs.GetPNForLID(ctx, lid)
}

// newWAClient wraps a device in a client configured for at-least-once delivery: acks are
// sent only after our handler returned true (SynchronousAck), and decrypted plaintext is
// buffered so a redelivered message can still be decrypted (EnableDecryptedEventBuffer).
func newWAClient(dev *waStore.Device, log waLog.Logger) Client {
	c := whatsmeow.NewClient(dev, log)
	c.SynchronousAck = true
	c.EnableDecryptedEventBuffer = true
	c.EnableAutoReconnect = true
	c.InitialAutoReconnect = true // a network error on the first connect retries in the background
	return waClient{c}
}

var _ Client = waClient{}

// slogLogger adapts slog to whatsmeow's logger. whatsmeow's lines contain JIDs (phone
// numbers) and sometimes message ids; runs of 6+ digits are redacted.
type slogLogger struct {
	log   *slog.Logger
	level slog.Level
}

var digitRun = regexp.MustCompile(`\+?\d{6,}`)

func newLibLogger(log *slog.Logger, level string) waLog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return &slogLogger{log: log.With("component", "whatsmeow"), level: l}
}

func (s *slogLogger) emit(level slog.Level, msg string, args []any) {
	if level < s.level || !s.log.Enabled(context.Background(), level) {
		return
	}
	s.log.Log(context.Background(), level, digitRun.ReplaceAllString(fmt.Sprintf(msg, args...), "…"))
}

func (s *slogLogger) Warnf(msg string, args ...any)  { s.emit(slog.LevelWarn, msg, args) }
func (s *slogLogger) Errorf(msg string, args ...any) { s.emit(slog.LevelError, msg, args) }
func (s *slogLogger) Infof(msg string, args ...any)  { s.emit(slog.LevelInfo, msg, args) }
func (s *slogLogger) Debugf(msg string, args ...any) { s.emit(slog.LevelDebug, msg, args) }
func (s *slogLogger) Sub(module string) waLog.Logger {
	return &slogLogger{log: s.log.With("module", module), level: s.level}
}
