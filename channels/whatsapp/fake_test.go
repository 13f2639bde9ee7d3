package whatsapp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/channeltest"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{}) // tests dial closed ports on purpose
	os.Exit(redistest.Run(m))
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// fakeClient stands in for *whatsmeow.Client behind the Client seam. It behaves like the
// library where this package depends on it: handlers run in registration order and the
// first false stops the dispatch (whatsmeow then withholds the ack).
type fakeClient struct {
	mu          sync.Mutex
	connected   bool
	connects    int
	disconnects int
	connectErr  error
	handlers    []whatsmeow.EventHandlerWithSuccessStatus
	sent        []sentMessage
	sendErrs    []error // returned by successive SendMessage calls, then nil
	lids        map[types.JID]types.JID
	qr          chan whatsmeow.QRChannelItem
	pairPhone   string
	onConnect   func()
	gate        chan struct{} // if set, Connect blocks until it is closed
	started     chan struct{} // if set, Connect signals here first
}

type sentMessage struct {
	To   types.JID
	Text string
	ID   types.MessageID
}

func newFakeClient() *fakeClient { return &fakeClient{lids: map[types.JID]types.JID{}} }

func (f *fakeClient) Connect(context.Context) error {
	f.mu.Lock()
	gate, started := f.gate, f.started
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	f.connects++
	err := f.connectErr
	if err == nil {
		f.connected = true
	}
	hook := f.onConnect
	f.mu.Unlock()
	if hook != nil && err == nil {
		hook()
	}
	return err
}

func (f *fakeClient) Disconnect() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disconnects++
	f.connected = false
}

func (f *fakeClient) IsConnected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

func (f *fakeClient) SendMessage(_ context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var id types.MessageID
	if len(extra) == 1 {
		id = extra[0].ID
	}
	f.sent = append(f.sent, sentMessage{To: to, Text: msg.GetConversation(), ID: id})
	if len(f.sendErrs) > 0 {
		err := f.sendErrs[0]
		f.sendErrs = f.sendErrs[1:]
		if err != nil {
			return whatsmeow.SendResponse{}, err
		}
	}
	return whatsmeow.SendResponse{ID: id, Timestamp: time.Unix(1700000000, 0)}, nil
}

func (f *fakeClient) AddEventHandlerWithSuccessStatus(h whatsmeow.EventHandlerWithSuccessStatus) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers = append(f.handlers, h)
	return uint32(len(f.handlers))
}

func (f *fakeClient) GetQRChannel(context.Context) (<-chan whatsmeow.QRChannelItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.connected {
		return nil, whatsmeow.ErrQRAlreadyConnected
	}
	f.qr = make(chan whatsmeow.QRChannelItem, 8)
	return f.qr, nil
}

func (f *fakeClient) PairPhone(_ context.Context, phone string, _ bool, _ whatsmeow.PairClientType, _ string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pairPhone = phone
	return "ABCD-EFGH", nil
}

func (f *fakeClient) PNForLID(_ context.Context, lid types.JID) (types.JID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lids[lid], nil
}

// dispatch delivers evt like whatsmeow's dispatchEvent; it returns the ack decision.
func (f *fakeClient) dispatch(evt any) bool {
	f.mu.Lock()
	hs := append([]whatsmeow.EventHandlerWithSuccessStatus(nil), f.handlers...)
	f.mu.Unlock()
	for _, h := range hs {
		if !h(evt) {
			return false
		}
	}
	return true
}

func (f *fakeClient) counts() (connects, disconnects int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connects, f.disconnects
}

// alertRecorder is a channels.Alerter that records alerts.
type alertRecorder struct {
	mu     sync.Mutex
	alerts []string
}

func (r *alertRecorder) Alert(_ context.Context, channel, account, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, channel+"/"+account+": "+reason)
	return nil
}

func (r *alertRecorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.alerts...)
}

// env is one gateway process's view for a test: a channel over a fake client factory.
type env struct {
	ch      *Channel
	clients map[string]*fakeClient // per account; created on first load
	linked  map[string]bool
	mu      sync.Mutex
	rdb     *redis.Client
	keys    store.Keys
	clock   *clock.Fake
	alerts  *alertRecorder
	reg     *prometheus.Registry
	prepare func(*fakeClient) // called on every new fake client
}

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

type envOpt func(*Config, *channels.Deps)

// newEnv builds a channel against real Redis under keys (share keys between two envs to
// simulate two processes).
func newEnv(t *testing.T, rdb *redis.Client, keys store.Keys, clk *clock.Fake, opts ...envOpt) *env {
	t.Helper()
	cfg := Config{Enabled: true, Accounts: []AccountConfig{{Name: "sales"}}}
	cfg.Defaults()
	e := &env{clients: map[string]*fakeClient{}, linked: map[string]bool{}, rdb: rdb, keys: keys, clock: clk,
		alerts: &alertRecorder{}, reg: prometheus.NewRegistry()}
	d := channels.Deps{
		Ingester: store.NewIngest(rdb, keys, clk, nil),
		Redis:    rdb, Keys: keys, Clock: clk,
		Log:        slog.New(slog.DiscardHandler),
		Registerer: e.reg, Alerter: e.alerts, Instance: "test",
	}
	for _, o := range opts {
		o(&cfg, &d)
	}
	for _, a := range cfg.Accounts {
		e.linked[a.Name] = true
	}
	ch, err := newChannel(cfg, d, func(_ context.Context, account string) (Client, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.linked[account] {
			return nil, ErrNotLinked
		}
		c := newFakeClient()
		if e.prepare != nil {
			e.prepare(c)
		}
		e.clients[account] = c
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ch = ch
	return e
}

func (e *env) client(account string) *fakeClient {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clients[account]
}

func (e *env) setLinked(account string, v bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.linked[account] = v
}

func (e *env) step(t *testing.T) {
	t.Helper()
	if err := e.ch.Step(context.Background()); err != nil {
		t.Fatalf("step: %v", err)
	}
}

// inbound returns every item on the inbound stream.
func inbound(t *testing.T, rdb *redis.Client, keys store.Keys) []channels.Inbound {
	return channeltest.Stored(t, rdb, keys)
}

var errBoom = errors.New("boom")

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
