package email

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/store"
)

// batchSize is how many messages are fetched per UID FETCH.
const batchSize = 20

//go:embed set_pos.lua
var setPosLua string

// setPosScript: see set_pos.lua.
var setPosScript = redis.NewScript(setPosLua)

// position is where a mailbox's reading stands.
type position struct {
	Validity uint32   // UIDVALIDITY the UID belongs to (0: never read)
	UID      imap.UID // last handled UID
	Date     int64    // arrival time (unix seconds) of that message
}

// errLeaseLost stops a session whose reader no longer holds the mailbox's lease.
var errLeaseLost = errors.New("mailbox reading lease lost")

// reader reads one mailbox: the holder of the mailbox's lease connects, handles every new
// message in UID order (ingest, then the after-action) and stores the position, then waits
// with IDLE (or polls) for more.
type reader struct {
	c      *Channel
	mb     Mailbox
	lease  *store.Lease
	posKey string
	log    *slog.Logger

	wake chan struct{} // new mail announced during IDLE

	mu     sync.Mutex
	leader bool
}

func newReader(c *Channel, mb Mailbox) *reader {
	return &reader{
		c:      c,
		mb:     mb,
		lease:  store.NewLease(c.d.Redis, c.d.Keys.Lease("email:"+mb.Name), c.cfg.LeaseTTL),
		posKey: c.d.Keys.Channel(Name, mb.Name, "pos"),
		log:    c.d.Log.With("mailbox", mb.Name),
		wake:   make(chan struct{}, 1),
	}
}

// SyncResult says what one sync did.
type SyncResult struct {
	Leader   bool     // this instance holds the lease (false: another reads; nothing was done)
	Handled  int      // messages handled (ingested, duplicates, automatic, ignored, malformed)
	Position imap.UID // the stored position after the sync
	Validity uint32   // the folder's UIDVALIDITY
}

func (r *reader) setLeader(v bool) {
	r.mu.Lock()
	changed := r.leader != v
	r.leader = v
	r.mu.Unlock()
	if changed {
		if v {
			r.log.Info("email reading lease acquired")
		} else {
			r.log.Info("email reading lease released or lost")
		}
	}
	g := 0.0
	if v {
		g = 1
	}
	r.c.m.leader.WithLabelValues(r.mb.Name).Set(g)
}

// run reads the mailbox until ctx is cancelled, then releases the lease.
func (r *reader) run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		ok, err := r.lease.Acquire(ctx)
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
		case err != nil:
			r.log.Warn("email lease check failed", "err", err)
			wait = backoff
		case !ok:
			r.setLeader(false)
			wait = r.lease.TTL() / 3
		default:
			r.setLeader(true)
			err = r.session(ctx)
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, errLeaseLost) {
				r.setLeader(false)
				continue
			}
			r.c.m.imapErrors.WithLabelValues(r.mb.Name).Inc()
			r.log.Warn("email session ended", "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, time.Minute)
		}
		if wait > 0 && sleep(ctx, wait) != nil {
			break
		}
	}
	r.mu.Lock()
	held := r.leader
	r.mu.Unlock()
	if held {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = r.lease.Release(rctx)
		cancel()
		r.setLeader(false)
	}
}

// session holds one IMAP connection: sync, wait for new mail, renew the lease, sync again.
// It returns when the connection fails, the lease is lost or ctx is cancelled.
func (r *reader) session(ctx context.Context) error {
	cl, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	idle := *r.mb.IMAP.Idle && (cl.Caps().Has(imap.CapIdle) || cl.Caps().Has(imap.CapIMAP4rev2))
	r.log.Debug("email session open", "idle", idle)
	for {
		if _, err := r.sync(ctx, cl); err != nil {
			return err
		}
		if err := r.wait(ctx, cl, idle); err != nil {
			return err
		}
		if ok, err := r.lease.Renew(ctx); err != nil {
			return err
		} else if !ok {
			return errLeaseLost
		}
	}
}

// wait returns when new mail may have arrived: announced during IDLE, or after the poll
// interval (at most a third of the lease, which is renewed after each wait).
func (r *reader) wait(ctx context.Context, cl *imapclient.Client, idle bool) error {
	d := min(r.mb.IMAP.PollInterval, r.lease.TTL()/3)
	t := time.NewTimer(d)
	defer t.Stop()
	if !idle {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	cmd, err := cl.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-r.wake:
	case <-cl.Closed():
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return ctx.Err()
}

// dial connects, logs in and selects the folder.
func (r *reader) dial(ctx context.Context) (*imapclient.Client, error) {
	s := r.mb.IMAP.Server
	tcfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := &imapclient.Options{
		TLSConfig:   tcfg,
		WordDecoder: wordDecoder,
		Dialer:      &net.Dialer{Timeout: r.c.cfg.Timeout},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case r.wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var cl *imapclient.Client
	switch s.TLS {
	case TLSImplicit:
		cl, err = imapclient.DialTLS(s.addr(), opts)
	case TLSStartTLS:
		cl, err = imapclient.DialStartTLS(s.addr(), opts)
	default:
		cl, err = imapclient.DialInsecure(s.addr(), opts)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.addr(), err)
	}
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	if err := cl.WaitGreeting(); err != nil {
		cl.Close()
		return nil, fmt.Errorf("imap greeting: %w", err)
	}
	if err := cl.Login(s.Username, s.Password).Wait(); err != nil {
		cl.Close()
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			r.c.alert(ctx, r.mb.Name, "imap_login", "the IMAP server refused the mailbox's login (wrong or expired password?)")
		}
		return nil, fmt.Errorf("imap login: %w", err) // the server's answer, never the password
	}
	r.c.clear(r.mb.Name, "imap_login")
	if r.mb.IMAP.After == AfterMove {
		// The target folder is created when missing (an error here means it exists).
		_ = cl.Create(r.mb.IMAP.MoveTo, nil).Wait()
	}
	return cl, nil
}

// loadPos reads the stored position.
func (r *reader) loadPos(ctx context.Context) (position, error) {
	v, err := r.c.d.Redis.HMGet(ctx, r.posKey, "v", "u", "d").Result()
	if err != nil {
		return position{}, err
	}
	num := func(x any) uint64 {
		s, _ := x.(string)
		n, _ := strconv.ParseUint(s, 10, 64)
		return n
	}
	return position{Validity: uint32(num(v[0])), UID: imap.UID(num(v[1])), Date: int64(num(v[2]))}, nil
}

// setPos stores a position (forward only, see set_pos.lua), if the lease is still ours.
func (r *reader) setPos(ctx context.Context, p position) error {
	if ok, err := r.lease.Renew(ctx); err != nil {
		return err
	} else if !ok {
		return errLeaseLost
	}
	return setPosScript.Run(ctx, r.c.d.Redis, []string{r.posKey},
		strconv.FormatUint(uint64(p.Validity), 10), strconv.FormatUint(uint64(p.UID), 10), strconv.FormatInt(p.Date, 10)).Err()
}

// sync handles every message of the folder past the stored position.
func (r *reader) sync(ctx context.Context, cl *imapclient.Client) (SyncResult, error) {
	res := SyncResult{Leader: true}
	sel, err := cl.Select(r.mb.IMAP.Folder, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("select %q: %w", r.mb.IMAP.Folder, err)
	}
	res.Validity = sel.UIDValidity
	pos, err := r.loadPos(ctx)
	if err != nil {
		return res, err
	}
	var crit imap.SearchCriteria
	switch {
	case pos.Validity == 0:
		// First reading of this mailbox.
		switch r.mb.IMAP.After {
		case AfterNone: // nothing marks what was handled: only mail from now on
			next := sel.UIDNext
			if next == 0 && sel.NumMessages > 0 { // no UIDNEXT in the answer: the highest UID + 1
				all, err := cl.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
				if err != nil {
					return res, fmt.Errorf("uid search: %w", err)
				}
				next = imap.UID(all.Max) + 1
				for _, u := range all.AllUIDs() {
					next = max(next, u+1)
				}
			}
			start := position{Validity: sel.UIDValidity, UID: max(next, 1) - 1, Date: r.c.d.Clock.Now().Unix()}
			if err := r.setPos(ctx, start); err != nil {
				return res, err
			}
			r.log.Info("email mailbox read for the first time: starting with new mail", "uid", start.UID)
			res.Position = start.UID
			return res, nil
		case AfterSeen:
			crit.NotFlag = []imap.Flag{imap.FlagSeen}
		}
		pos.Validity = sel.UIDValidity
	case pos.Validity != sel.UIDValidity:
		// The UIDs we stored mean nothing now: rescan what arrived since the last handled
		// message (from the day before, IMAP SINCE has day granularity); Message-ID dedupe
		// drops what was ingested already.
		r.c.m.uidValidity.WithLabelValues(r.mb.Name).Inc()
		r.log.Warn("email folder UIDVALIDITY changed: rescanning", "old", pos.Validity, "new", sel.UIDValidity)
		crit.Since = time.Unix(pos.Date, 0).UTC().AddDate(0, 0, -1)
		pos = position{Validity: sel.UIDValidity, Date: pos.Date}
	default:
		crit.UID = []imap.UIDSet{{imap.UIDRange{Start: pos.UID + 1, Stop: 0}}}
	}
	res.Position = pos.UID
	if sel.NumMessages == 0 {
		if crit.Since.IsZero() {
			return res, nil
		}
		// an empty folder after a UIDVALIDITY change: its new UIDs start now
		return res, r.setPos(ctx, pos)
	}
	data, err := cl.UIDSearch(&crit, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("uid search: %w", err)
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		if u > pos.UID {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	for len(uids) > 0 {
		n := min(batchSize, len(uids))
		done, last, err := r.batch(ctx, cl, uids[:n])
		res.Handled += len(done)
		if len(done) > 0 {
			if aerr := r.after(cl, done); aerr != nil {
				return res, errors.Join(err, aerr)
			}
			if last == 0 { // no arrival time known (expunged meanwhile): keep the last one
				last = pos.Date
			}
			p := position{Validity: sel.UIDValidity, UID: done[len(done)-1], Date: last}
			pos.Date = last
			if perr := r.setPos(ctx, p); perr != nil {
				return res, errors.Join(err, perr)
			}
			res.Position = p.UID
		}
		if err != nil {
			return res, err
		}
		uids = uids[n:]
	}
	return res, nil
}

// batch fetches uids and handles them in order. It returns the UIDs handled (a prefix of
// uids: it stops at the first failure) and the arrival time of the last one.
func (r *reader) batch(ctx context.Context, cl *imapclient.Client, uids []imap.UID) (done []imap.UID, last int64, err error) {
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: r.c.cfg.MaxMessageBytes}}
	msgs, err := cl.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, 0, fmt.Errorf("uid fetch: %w", err)
	}
	byUID := make(map[imap.UID]*imapclient.FetchMessageBuffer, len(msgs))
	for _, m := range msgs {
		byUID[m.UID] = m
	}
	for _, uid := range uids {
		m := byUID[uid]
		if m == nil {
			done = append(done, uid) // expunged meanwhile
			continue
		}
		var raw []byte
		if len(m.BodySection) > 0 {
			raw = m.BodySection[0].Bytes
		}
		if len(raw) == 0 {
			// The server returned no content for it: fetched once more alone, then skipped
			// with a warning rather than holding up every later message.
			one, err := cl.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			if err != nil {
				return done, last, fmt.Errorf("uid fetch: %w", err)
			}
			if len(one) == 1 && len(one[0].BodySection) > 0 {
				raw = one[0].BodySection[0].Bytes
			}
		}
		if err := r.handle(ctx, uid, raw, m.InternalDate, m.RFC822Size); err != nil {
			return done, last, err
		}
		done = append(done, uid)
		if !m.InternalDate.IsZero() {
			last = m.InternalDate.Unix()
		}
	}
	return done, last, nil
}

// after applies the after-action to handled messages.
func (r *reader) after(cl *imapclient.Client, uids []imap.UID) error {
	set := imap.UIDSetNum(uids...)
	switch r.mb.IMAP.After {
	case AfterSeen:
		if err := cl.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return fmt.Errorf("store \\Seen: %w", err)
		}
	case AfterMove:
		if _, err := cl.Move(set, r.mb.IMAP.MoveTo).Wait(); err != nil {
			return fmt.Errorf("move to %q: %w", r.mb.IMAP.MoveTo, err)
		}
	}
	return nil
}

// handle maps and ingests one message. An error leaves it (and what follows) for the next sync.
// size is the whole message's size: when raw is shorter (cut at max_message_bytes), meta
// says so ("partial", "size").
func (r *reader) handle(ctx context.Context, uid imap.UID, raw []byte, arrived time.Time, size int64) error {
	name := r.mb.Name
	m, err := ParseMail(raw, ParseOptions{MaxTextChars: r.c.cfg.MaxTextChars})
	if err == nil && len(raw) == 0 {
		err = errors.New("the server returned no content")
	}
	if err != nil {
		r.c.m.messages.WithLabelValues(name, resMalformed).Inc()
		r.log.Warn("email message skipped: unreadable", "uid", uid, "bytes", len(raw), "err", err)
		return nil
	}
	in, ignore := MapInbound(name, r.mb.Address, m)
	if ignore != "" {
		res := resIgnored
		if m.Auto != "" {
			res = resAutomatic
		}
		r.c.m.messages.WithLabelValues(name, res).Inc()
		r.log.Debug("email message not taken", "uid", uid, "reason", ignore)
		return nil
	}
	if size > int64(len(raw)) {
		in.Meta["partial"] = "1"
		in.Meta["size"] = strconv.FormatInt(size, 10)
	}
	if err := r.c.threads.noteInbound(ctx, name, in.ContactID, m, in.Meta); err != nil {
		r.c.m.messages.WithLabelValues(name, resFailed).Inc()
		return err
	}
	in.ReceivedAt = r.c.d.Clock.Now()
	ires, err := r.c.d.Ingester.Ingest(ctx, in)
	if err != nil {
		r.c.m.messages.WithLabelValues(name, resFailed).Inc()
		return fmt.Errorf("ingest: %w", err)
	}
	if ires.Duplicate {
		r.c.m.messages.WithLabelValues(name, resDuplicate).Inc()
		return nil
	}
	r.c.m.messages.WithLabelValues(name, resIngested).Inc()
	if !arrived.IsZero() {
		r.c.m.latency.WithLabelValues(name).Observe(max(0, time.Since(arrived).Seconds()))
	}
	r.log.Debug("email message ingested", "uid", uid, "entry", ires.EntryID)
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
