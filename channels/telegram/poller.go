package telegram

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/locale"
	"github.com/lidorub/lidorub/store"
)

// UpdateHandler processes one decoded update. An error stops the batch: the stored offset
// stays before that update, so it is read again on the next poll.
type UpdateHandler func(ctx context.Context, u *tgbotapi.Update) error

// allowedUpdates are the update types we ask Telegram for.
var allowedUpdates = []string{"message", "edited_message", "callback_query"}

// Poller is our own getUpdates loop for one bot. The offset lives in Redis and advances only
// after every update of a batch has been handled (made durable), so a crash re-reads the
// batch and the ingest dedupe keeps one copy. Only the holder of the bot's lease polls.
type Poller struct {
	name      string
	client    *Client
	rdb       redis.UniversalClient
	offsetKey string
	lease     *store.Lease
	handle    UpdateHandler
	log       *slog.Logger
	m         *Metrics
	alert     channels.Alerter
	timeout   time.Duration

	leader    bool
	lastAlert string
}

// NewPoller returns a poller for the bot called name (offset and lease keys are derived from it).
func NewPoller(name string, client *Client, rdb redis.UniversalClient, keys channels.Keys, leaseTTL time.Duration,
	h UpdateHandler, log *slog.Logger, m *Metrics, alert channels.Alerter) *Poller {
	m.initBot(name)
	return &Poller{
		name:      name,
		client:    client,
		rdb:       rdb,
		offsetKey: keys.Channel(channels.Telegram, name, "offset"),
		lease:     store.NewLease(rdb, keys.Lease("telegram:"+name), leaseTTL),
		handle:    h,
		log:       log.With("bot", name),
		m:         m,
		alert:     alert,
		timeout:   client.pollTimeout,
	}
}

// PollResult says what one PollOnce did.
type PollResult struct {
	Leader    bool  // this instance holds the lease (false: another one polls, nothing was done)
	Updates   int   // updates handled
	Malformed int   // updates skipped because they could not be decoded
	Offset    int64 // the offset stored after the batch
}

//go:embed set_offset.lua
var setOffsetLua string

// setOffsetScript: see set_offset.lua.
var setOffsetScript = redis.NewScript(setOffsetLua)

// setOffsetArgs are set_offset.lua's ARGV, in order.
type setOffsetArgs struct {
	Offset int64 // ARGV[1]
}

// setOffset runs set_offset.lua: true if the offset was stored.
func setOffset(ctx context.Context, rdb redis.Scripter, key string, a setOffsetArgs) (bool, error) {
	n, err := setOffsetScript.Run(ctx, rdb, []string{key}, strconv.FormatInt(a.Offset, 10)).Int()
	return n == 1, err
}

// SetTimeout changes the long-poll timeout (tests use a short one).
func (p *Poller) SetTimeout(d time.Duration) { p.timeout = d }

// PollOnce takes or renews the lease, fetches one batch with getUpdates, handles every
// update in order and then stores the next offset.
func (p *Poller) PollOnce(ctx context.Context) (PollResult, error) {
	ok, err := p.lease.Acquire(ctx)
	if err != nil {
		return PollResult{}, err
	}
	if !ok {
		if p.leader {
			p.log.Info("telegram polling lease lost")
		}
		p.setLeader(false)
		return PollResult{}, nil
	}
	res := PollResult{Leader: true}
	if !p.leader {
		p.log.Info("telegram polling lease acquired")
		// getUpdates fails while a webhook is set; polling mode owns the bot.
		if _, err := p.client.Call(ctx, "deleteWebhook", nil); err != nil {
			return res, p.failed(ctx, err)
		}
		p.setLeader(true)
	}
	offset, err := p.rdb.Get(ctx, p.offsetKey).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return res, err
	}
	res.Offset = offset
	raws, err := p.client.poll(ctx, offset, p.timeout, allowedUpdates)
	if err != nil {
		return res, p.failed(ctx, err)
	}
	p.lastAlert = ""
	next := offset
	var herr error
	for _, raw := range raws {
		u, id, derr := decodeUpdate(raw)
		if derr != nil {
			res.Malformed++
			p.m.updates.WithLabelValues(p.name, resMalformed).Inc()
			p.log.Warn("telegram update skipped: malformed", "update_id", id, "bytes", len(raw), "err", derr)
			if id >= next {
				next = id + 1
			}
			continue
		}
		if id < offset {
			// Already handled and confirmed: Telegram replayed it. Counted like any duplicate.
			p.m.updates.WithLabelValues(p.name, resDuplicate).Inc()
			p.log.Debug("telegram update skipped: replay of a confirmed update", "update_id", id, "offset", offset)
			continue
		}
		if herr = p.handle(ctx, &u); herr != nil {
			p.m.updates.WithLabelValues(p.name, resFailed).Inc()
			break
		}
		res.Updates++
		if id >= next {
			next = id + 1
		}
	}
	if next > offset {
		// still ours? a poller that lost the lease must not confirm anything
		if ok, err := p.lease.Renew(ctx); err != nil || !ok {
			p.setLeader(false)
			if err == nil {
				err = errors.New("polling lease lost during the batch")
			}
			return res, errors.Join(err, herr)
		}
		if _, err := setOffset(ctx, p.rdb, p.offsetKey, setOffsetArgs{Offset: next}); err != nil {
			return res, errors.Join(err, herr)
		}
		res.Offset = next
	}
	return res, herr
}

func (p *Poller) setLeader(v bool) {
	p.leader = v
	g := 0.0
	if v {
		g = 1
	}
	p.m.leader.WithLabelValues(p.name).Set(g)
}

// failed counts a Bot API failure and alerts once on the ones a person must fix.
func (p *Poller) failed(ctx context.Context, err error) error {
	p.m.polls.WithLabelValues(p.name).Inc()
	var reason string
	if e := APIError(err); e != nil {
		switch e.Code {
		case 401, 404:
			reason = locale.M("alert.telegram.token_polling").Encode()
		case 409:
			reason = locale.M("alert.telegram.conflict").Encode()
		}
	}
	if reason != "" && reason != p.lastAlert && p.alert != nil {
		p.lastAlert = reason
		if aerr := p.alert.Alert(ctx, channels.Telegram, p.name, reason); aerr != nil {
			p.log.Warn("alert failed", "err", aerr)
		}
	}
	return err
}

// Run polls until ctx is cancelled, then releases the lease.
func (p *Poller) Run(ctx context.Context) error {
	wait := time.Second
	idle := p.lease.TTL() / 3
	for ctx.Err() == nil {
		res, err := p.PollOnce(ctx)
		var d time.Duration
		switch {
		case ctx.Err() != nil:
		case err != nil:
			p.log.Warn("telegram poll failed", "err", err, "retry_in", wait)
			d, wait = wait, min(2*wait, 30*time.Second)
		case !res.Leader:
			d = idle
		default:
			wait = time.Second
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	if p.leader {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = p.lease.Release(rctx)
		cancel()
		p.setLeader(false)
	}
	return nil
}
