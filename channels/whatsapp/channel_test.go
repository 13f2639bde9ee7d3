package whatsapp

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/store"
)

// closedPortRedis returns a client for a port that was just listening and is now closed.
func closedPortRedis(t *testing.T) *redis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connectedEnv(t *testing.T) (*env, *fakeClient) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	e := newEnv(t, rdb, store.NewKeys(prefix), clock.NewFake(t0))
	e.step(t)
	c := e.client("sales")
	if c == nil || !c.IsConnected() {
		t.Fatal("account did not connect")
	}
	c.dispatch(&events.Connected{})
	return e, c
}

func TestHandlerAcksOnlyAfterStoring(t *testing.T) {
	e, c := connectedEnv(t)
	msg := loadMessage(t, "conversation.json")

	if !c.dispatch(msg) {
		t.Fatal("handler returned false for a message it stored")
	}
	got := inbound(t, e.rdb, e.keys)
	if len(got) != 1 || got[0].MessageID != "3A1F00C0FFEE000000000001" || got[0].Text == "" || got[0].Phone != "+4915112345678" {
		t.Fatalf("stored %+v", got)
	}

	// WhatsApp redelivers (e.g. the ack was lost): stored once, acked again.
	if !c.dispatch(loadMessage(t, "conversation.json")) {
		t.Fatal("handler returned false for a duplicate")
	}
	if n := len(inbound(t, e.rdb, e.keys)); n != 1 {
		t.Fatalf("duplicate delivery stored %d times", n)
	}

	// Ignored messages are acked (or WhatsApp would redeliver them forever) and counted.
	if !c.dispatch(loadMessage(t, "group.json")) {
		t.Fatal("ignored group message not acked")
	}
	if v := testutil.ToFloat64(e.ch.ignored.WithLabelValues("sales", ignoreGroup)); v != 1 {
		t.Fatalf("ignored{group} = %v", v)
	}
	if n := len(inbound(t, e.rdb, e.keys)); n != 1 {
		t.Fatalf("group message stored: %d items", n)
	}
}

func TestHandlerWithholdsAckWhenRedisIsDown(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	down := closedPortRedis(t)
	// Leases live in the working Redis; the ingester (and the receipt lookup) point at a closed port.
	e := newEnv(t, rdb, keys, clock.NewFake(t0), func(_ *Config, d *channels.Deps) {
		d.Ingester = store.NewIngest(down, keys, d.Clock, nil)
	})
	e.step(t)
	c := e.client("sales")
	if c.dispatch(loadMessage(t, "conversation.json")) {
		t.Fatal("handler acked a message that was not stored")
	}
	if n := len(inbound(t, rdb, keys)); n != 0 {
		t.Fatalf("%d items stored", n)
	}

	// Redis back: the redelivery is stored and acked.
	e.ch.d.Ingester = store.NewIngest(rdb, keys, e.clock, nil)
	if !c.dispatch(loadMessage(t, "conversation.json")) {
		t.Fatal("redelivery not acked")
	}
	if n := len(inbound(t, rdb, keys)); n != 1 {
		t.Fatalf("%d items stored after redelivery", n)
	}
}

func TestReceiptWithheldWhenRedisIsDown(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	e := newEnv(t, rdb, keys, clock.NewFake(t0))
	e.step(t)
	e.ch.d.Redis = closedPortRedis(t)
	chat := types.NewJID("4915112345678", types.DefaultUserServer)
	if e.client("sales").dispatch(&events.Receipt{MessageSource: types.MessageSource{Chat: chat, Sender: chat},
		Type: types.ReceiptTypeRead, MessageIDs: []string{"3EB0X"}}) {
		t.Fatal("receipt acked although it could not be looked up")
	}
}

func TestLeaseContention(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	clk := clock.NewFake(t0)
	a := newEnv(t, rdb, keys, clk)
	b := newEnv(t, rdb, keys, clk)
	ctx := context.Background()

	for range 3 { // both keep stepping: only one ever connects
		a.step(t)
		b.step(t)
	}
	ca, cb := a.client("sales"), b.client("sales")
	if n, _ := ca.counts(); n != 1 {
		t.Fatalf("first instance connected %d times", n)
	}
	if n, _ := cb.counts(); n != 0 {
		t.Fatalf("second instance connected %d times while the first holds the lease", n)
	}
	ca.dispatch(&events.Connected{})
	if v := testutil.ToFloat64(a.ch.connected.WithLabelValues("sales")); v != 1 {
		t.Fatalf("connected gauge of holder = %v", v)
	}

	// The holder's lease lapses (simulated: the key is gone, as after a missed renewal).
	if err := rdb.Del(ctx, keys.Lease("whatsapp:sales")).Err(); err != nil {
		t.Fatal(err)
	}
	b.step(t) // takes over
	if n, _ := cb.counts(); n != 1 {
		t.Fatalf("second instance did not take over (connects=%d)", n)
	}
	a.step(t) // renew fails: disconnect at once
	if _, d := ca.counts(); d != 1 || ca.IsConnected() {
		t.Fatalf("first instance still connected after losing the lease (disconnects=%d)", d)
	}
	if v := testutil.ToFloat64(a.ch.connected.WithLabelValues("sales")); v != 0 {
		t.Fatalf("connected gauge after losing the lease = %v", v)
	}
	a.step(t)
	if n, _ := ca.counts(); n != 1 {
		t.Fatalf("first instance reconnected while the second holds the lease (connects=%d)", n)
	}

	// Status in Redis names the holder.
	cb.dispatch(&events.Connected{})
	b.step(t)
	vals, err := rdb.HGetAll(ctx, keys.Channel(channels.WhatsApp, "sales", "status")).Result()
	if err != nil || vals["connected"] != "1" || vals["instance"] != "test" {
		t.Fatalf("status %v %v", vals, err)
	}

	// A clean shutdown hands over immediately.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.ch.Run(cancelled); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, keys.Lease("whatsapp:sales")).Result(); n != 0 {
		t.Fatal("lease not released on shutdown")
	}
	a.step(t)
	if n, _ := ca.counts(); n != 2 {
		t.Fatalf("first instance did not take over after the release (connects=%d)", n)
	}
}

func TestDisconnectWhenLeaseCannotBeRenewed(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	clk := clock.NewFake(t0)
	e := newEnv(t, rdb, keys, clk)
	e.step(t)
	c := e.client("sales")
	e.ch.accounts["sales"].lease = store.NewLease(closedPortRedis(t), keys.Lease("whatsapp:sales"), e.ch.cfg.LeaseTTL)

	clk.Advance(e.ch.cfg.LeaseTTL / 3)
	if err := e.ch.Step(context.Background()); err == nil {
		t.Fatal("want a renew error")
	}
	if !c.IsConnected() {
		t.Fatal("disconnected after one failed renewal; the lease is still valid")
	}
	clk.Advance(e.ch.cfg.LeaseTTL / 3)
	_ = e.ch.Step(context.Background())
	if c.IsConnected() {
		t.Fatal("still connected although the lease may lapse before it can be renewed")
	}
}

func TestPermanentDisconnects(t *testing.T) {
	tests := []struct {
		name      string
		evt       any
		reason    string
		logHint   string
		reconnect func(e *env) // what lets the account connect again
	}{
		{"logged out", &events.LoggedOut{Reason: events.ConnectFailureLoggedOut}, "logged_out", "lidorub whatsapp link --account sales",
			func(e *env) { e.setLinked("sales", true) }},
		{"temporary ban", &events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: 2 * time.Hour}, "temporary_ban", "until 2026-11-28T11:00:00Z",
			func(e *env) { e.clock.Advance(2*time.Hour + time.Second) }},
		{"client outdated", &events.ClientOutdated{}, "client_outdated", "upgrade lidorub", nil},
		{"stream replaced", &events.StreamReplaced{}, "stream_replaced", "Stop the other process", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, c := connectedEnv(t)
			ctx := context.Background()
			if v := testutil.ToFloat64(e.ch.connected.WithLabelValues("sales")); v != 1 {
				t.Fatalf("gauge before = %v", v)
			}
			if tt.reason == "logged_out" {
				e.setLinked("sales", false) // whatsmeow deleted the device
			}
			if !c.dispatch(tt.evt) {
				t.Fatal("handler returned false")
			}
			alerts := e.alerts.list()
			if len(alerts) != 1 || !strings.HasPrefix(alerts[0], "whatsapp/sales: ") {
				t.Fatalf("alerts = %q", alerts)
			}
			if m, ok := locale.Decode(strings.TrimPrefix(alerts[0], "whatsapp/sales: ")); !ok || m.Key != "alert.whatsapp."+tt.reason ||
				!strings.Contains(m.String(), tt.logHint) {
				t.Fatalf("alert %q (%s), want alert.whatsapp.%s with %q", alerts[0], m, tt.reason, tt.logHint)
			}
			if v := testutil.ToFloat64(e.ch.connected.WithLabelValues("sales")); v != 0 {
				t.Fatalf("gauge after = %v", v)
			}
			e.step(t) // disconnects and hands the lease back
			if c.IsConnected() {
				t.Fatal("still connected")
			}
			if n, _ := e.rdb.Exists(ctx, e.keys.Lease("whatsapp:sales")).Result(); n != 0 {
				t.Fatal("lease kept after a permanent disconnect")
			}
			e.step(t)
			connects := func() int {
				n, _ := e.client("sales").counts()
				return n
			}
			if e.client("sales") != c && connects() != 0 || e.client("sales") == c && connects() != 1 {
				t.Fatal("reconnected before the operator fixed anything")
			}
			if tt.reconnect == nil {
				return
			}
			tt.reconnect(e)
			e.step(t)
			if !e.client("sales").IsConnected() {
				t.Fatal("did not reconnect after the cause went away")
			}
		})
	}
}

func TestMetricsInitialisedAtZero(t *testing.T) {
	rdb, prefix := redistest.New(t)
	e := newEnv(t, rdb, store.NewKeys(prefix), clock.NewFake(t0), func(c *Config, _ *channels.Deps) {
		c.Accounts = []AccountConfig{{Name: "sales"}, {Name: "support"}}
	})
	if n := testutil.CollectAndCount(e.reg, "lidorub_whatsapp_connected"); n != 2 {
		t.Fatalf("connected series = %d, want 2", n)
	}
	if n := testutil.CollectAndCount(e.reg, "lidorub_whatsapp_ignored_total"); n != 2*len(ignoreReasons) {
		t.Fatalf("ignored series = %d", n)
	}
}

func TestNotLinkedAccountDoesNotTakeTheLease(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	e := newEnv(t, rdb, keys, clock.NewFake(t0))
	e.setLinked("sales", false)
	e.step(t)
	if n, _ := rdb.Exists(context.Background(), keys.Lease("whatsapp:sales")).Result(); n != 0 {
		t.Fatal("unlinked account holds a lease")
	}
	e.setLinked("sales", true) // linked meanwhile with `lidorub whatsapp link`
	e.step(t)
	if c := e.client("sales"); c == nil || !c.IsConnected() {
		t.Fatal("newly linked account not connected without a restart")
	}
}

func TestSendReusesMessageIDOnRetry(t *testing.T) {
	e, c := connectedEnv(t)
	ctx := context.Background()
	out := channels.Outbound{ID: "out-1", Channel: channels.WhatsApp, Account: "sales", ContactID: "4915112345678",
		Kind: "reply", ManagerID: "m1", Text: "Hi Anna, yes it is available."}

	c.mu.Lock()
	c.sendErrs = []error{whatsmeow.ErrMessageTimedOut}
	c.mu.Unlock()
	if _, err := e.ch.Send(ctx, out); err == nil || channels.IsPermanent(err) {
		t.Fatalf("first attempt: want a temporary error, got %v", err)
	}
	res, err := e.ch.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	sent := append([]sentMessage(nil), c.sent...)
	c.mu.Unlock()
	if len(sent) != 2 || sent[0].ID != sent[1].ID || sent[0].ID == "" {
		t.Fatalf("attempts used ids %+v", sent)
	}
	if res.ChannelMessageID != sent[0].ID || sent[0].ID != DeriveMessageID("sales", "out-1") {
		t.Fatalf("result id %q, sent %q", res.ChannelMessageID, sent[0].ID)
	}
	if sent[1].To != types.NewJID("4915112345678", types.DefaultUserServer) || sent[1].Text != out.Text {
		t.Fatalf("sent %+v", sent[1])
	}

	// An id remembered in Redis from an earlier attempt wins over the derived one.
	out2 := out
	out2.ID = "out-2"
	if err := e.rdb.Set(ctx, e.keys.Channel(channels.WhatsApp, "sales", "out:out-2"), "3EB0PREVIOUS", 0).Err(); err != nil {
		t.Fatal(err)
	}
	res, err = e.ch.Send(ctx, out2)
	if err != nil || res.ChannelMessageID != "3EB0PREVIOUS" {
		t.Fatalf("send out-2: %v %+v", err, res)
	}

	// Delivery and read receipts of our messages become status items; others are dropped.
	chat := types.NewJID("4915112345678", types.DefaultUserServer)
	for _, typ := range []types.ReceiptType{types.ReceiptTypeDelivered, types.ReceiptTypeRead, types.ReceiptTypeRead} {
		if !c.dispatch(&events.Receipt{MessageSource: types.MessageSource{Chat: chat, Sender: chat}, Type: typ,
			MessageIDs: []string{res.ChannelMessageID, "3EB0WRITTENONPHONE"}}) {
			t.Fatal("receipt not acked")
		}
	}
	var statuses []string
	for _, in := range inbound(t, e.rdb, e.keys) {
		if in.Kind == channels.KindStatus {
			statuses = append(statuses, in.Meta["ref"]+"="+in.Meta["status"])
		}
	}
	if strings.Join(statuses, ",") != "3EB0PREVIOUS=delivered,3EB0PREVIOUS=read" {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestSendErrors(t *testing.T) {
	e, c := connectedEnv(t)
	ctx := context.Background()
	base := channels.Outbound{ID: "o", Account: "sales", ContactID: "4915112345678", Text: "hi"}
	tests := []struct {
		name      string
		mod       func(*channels.Outbound)
		permanent bool
	}{
		{"unknown account", func(o *channels.Outbound) { o.Account = "nope" }, true},
		{"bad contact", func(o *channels.Outbound) { o.ContactID = "120363025246125486@g.us" }, true},
		{"no text", func(o *channels.Outbound) { o.Text = " " }, true},
		{"send fails", func(*channels.Outbound) {
			c.mu.Lock()
			c.sendErrs = []error{fmt.Errorf("failed to get devices of 4915112345678@s.whatsapp.net: %w", whatsmeow.ErrIQTimedOut)}
			c.mu.Unlock()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			_, err := e.ch.Send(ctx, o)
			if err == nil || channels.IsPermanent(err) != tt.permanent {
				t.Fatalf("err = %v, permanent want %v", err, tt.permanent)
			}
			if strings.Contains(err.Error(), "4915112345678") {
				t.Fatalf("error text leaks the phone number: %v", err)
			}
		})
	}
	// Attachments given by URL go out as links under the text.
	o := base
	o.ID, o.Attachments = "o-att", []channels.Attachment{{Kind: "image", Ref: "https://example.com/flat.jpg"}, {Kind: "image", Ref: "AgACAgIAAxk"}}
	if _, err := e.ch.Send(ctx, o); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	text := c.sent[len(c.sent)-1].Text
	c.mu.Unlock()
	if text != "hi\nhttps://example.com/flat.jpg" {
		t.Fatalf("sent text %q", text)
	}
	// A LID contact (no phone known) is reachable as such.
	o = base
	o.ID, o.ContactID = "o-lid", "11112222333344@lid"
	if _, err := e.ch.Send(ctx, o); err != nil {
		t.Fatal(err)
	}
	// Not connected: temporary.
	c.Disconnect()
	o.ID = "o-3"
	if _, err := e.ch.Send(ctx, o); err == nil || channels.IsPermanent(err) {
		t.Fatalf("not connected: %v", err)
	}
}

func TestDeriveMessageID(t *testing.T) {
	id := DeriveMessageID("sales", "out-1")
	if len(id) != 22 || !strings.HasPrefix(id, "3EB0") || strings.ToUpper(id) != id {
		t.Fatalf("id %q is not in WhatsApp's format", id)
	}
	if id != DeriveMessageID("sales", "out-1") || id == DeriveMessageID("support", "out-1") || id == DeriveMessageID("sales", "out-2") {
		t.Fatal("derivation is not a function of (account, outbound id)")
	}
}

func TestSendOnNonHolderIsForwardedToTheHolder(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	clk := clock.NewFake(t0)
	a := newEnv(t, rdb, keys, clk)
	b := newEnv(t, rdb, keys, clk)
	ctx := context.Background()
	a.step(t)
	b.step(t)
	holder := a.ch.accounts["sales"]
	ca := a.client("sales")
	out := channels.Outbound{ID: "out-9", Account: "sales", ContactID: "4915112345678", Kind: "reply", ManagerID: "m1", Text: "hello"}

	type result struct {
		res channels.SendResult
		err error
	}
	sendOnB := func(out channels.Outbound) <-chan result {
		ch := make(chan result, 1)
		go func() {
			res, err := b.ch.Send(ctx, out)
			ch <- result{res, err}
		}()
		return ch
	}

	// The holder sends it and answers with the message id.
	got := sendOnB(out)
	if served, err := holder.serveOne(ctx, 5*time.Second); !served || err != nil {
		t.Fatalf("serveOne: %v %v", served, err)
	}
	r := <-got
	if r.err != nil || r.res.ChannelMessageID != DeriveMessageID("sales", "out-9") {
		t.Fatalf("forwarded send: %+v", r)
	}
	ca.mu.Lock()
	sent := append([]sentMessage(nil), ca.sent...)
	ca.mu.Unlock()
	if len(sent) != 1 || sent[0].Text != "hello" || sent[0].ID != r.res.ChannelMessageID {
		t.Fatalf("holder sent %+v", sent)
	}
	if b.client("sales") != nil && len(b.client("sales").sent) != 0 {
		t.Fatal("non-holder sent on its own connection")
	}

	// A temporary failure on the holder comes back temporary.
	ca.mu.Lock()
	ca.sendErrs = []error{errBoom}
	ca.mu.Unlock()
	got = sendOnB(out)
	if served, err := holder.serveOne(ctx, 5*time.Second); !served || err != nil {
		t.Fatalf("serveOne: %v %v", served, err)
	}
	if r := <-got; r.err == nil || channels.IsPermanent(r.err) || !strings.Contains(r.err.Error(), "boom") {
		t.Fatalf("want the holder's temporary error, got %v", r.err)
	}

	// The holder does not answer in time: temporary error; the stale request is dropped later.
	b.ch.forwardTimeout = time.Second
	if _, err := b.ch.Send(ctx, out); err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("silent holder: %v", err)
	}
	clk.Advance(2 * time.Second)
	if served, err := holder.serveOne(ctx, 5*time.Second); !served || err != nil {
		t.Fatalf("serveOne: %v %v", served, err)
	}
	ca.mu.Lock()
	n := len(ca.sent)
	ca.mu.Unlock()
	if n != 2 {
		t.Fatalf("a request past its deadline was sent (%d sends)", n)
	}

	// Nobody holds the account: fail fast.
	holder.shutdown()
	if _, err := b.ch.Send(ctx, out); err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "no gateway process holds it") {
		t.Fatalf("no holder: %v", err)
	}
}

// Under Run, a slow Connect (dialling and the handshake can take a minute) must not hold up
// the lease renewal; cancelling Run disconnects and hands the lease back.
func TestRunConnectsInTheBackground(t *testing.T) {
	rdb, prefix := redistest.New(t)
	keys := store.NewKeys(prefix)
	e := newEnv(t, rdb, keys, clock.NewFake(t0))
	gate, started := make(chan struct{}), make(chan struct{}, 1)
	e.prepare = func(c *fakeClient) { c.gate, c.started = gate, started }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ch.Run(ctx) }()

	<-started // Connect is in flight and blocked
	statusKey := keys.Channel(channels.WhatsApp, "sales", "status")
	for i := 0; ; i++ { // the step that started it went on to publish the status
		if n, _ := rdb.Exists(context.Background(), statusKey).Result(); n == 1 {
			break
		}
		if i > 500 {
			t.Fatal("the step is blocked behind Connect")
		}
		time.Sleep(5 * time.Millisecond) // waiting for another goroutine, not for a timer
	}
	close(gate)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := e.client("sales")
	if c.IsConnected() {
		t.Fatal("still connected after Run returned")
	}
	if n, _ := rdb.Exists(context.Background(), keys.Lease("whatsapp:sales")).Result(); n != 0 {
		t.Fatal("lease kept after Run returned")
	}
}
