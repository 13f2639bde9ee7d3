package bench

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// managerPool is the synthetic lead-managers: online through the agent API; when active,
// they take every offer (accept) and answer it — a form lead is marked contacted (it cannot
// be replied to), a "bench" channel lead gets a reply — and close it, all over HTTP.
type managerPool struct {
	b          *runner
	base       string
	list       []ManagerToken
	rec        *recorder // in-process: offers arrive through it; nil in target mode
	leaveForms bool      // take and answer only "bench" channel offers
	inbox      map[string]chan offer
	wg         sync.WaitGroup

	accepted, answered, closed, conflicts, dropped, failed atomic.Int64
	firstErr                                               atomic.Value

	// target mode: offers found by polling, timed with the server's own timestamps
	seenMu   sync.Mutex
	seen     map[int64]bool
	inToOffr samples
	ours     sync.Map // target mode: phones posted in this phase (the leads that are timed)
	oursSeen int
}

func (b *runner) newManagers(base string, list []ManagerToken, rec *recorder) *managerPool {
	p := &managerPool{b: b, base: base, list: list, rec: rec, inbox: map[string]chan offer{}, seen: map[int64]bool{}}
	for _, m := range list {
		p.inbox[m.ID] = make(chan offer, 4096)
	}
	return p
}

func (p *managerPool) token(id string) string {
	for _, m := range p.list {
		if m.ID == id {
			return m.Token
		}
	}
	return ""
}

// setOnline puts every manager online or offline through PUT /api/v1/managers/{id}/status.
func (p *managerPool) setOnline(ctx context.Context, online bool) error {
	body := []byte(`{"online":false}`)
	if online {
		body = []byte(`{"online":true}`)
	}
	for _, m := range p.list {
		st, err := p.b.http.do(ctx, http.MethodPut, p.base+"/api/v1/managers/"+m.ID+"/status", m.Token, body, nil)
		if err != nil {
			return err
		}
		if st != http.StatusOK && st != http.StatusNoContent {
			return fmt.Errorf("manager %s: status HTTP %d", m.ID, st)
		}
	}
	return nil
}

func (p *managerPool) deliver(managerID string, o offer) {
	ch, ok := p.inbox[managerID]
	if !ok || (p.leaveForms && o.channel != BenchChannel) {
		return
	}
	select {
	case ch <- o:
	default:
		p.dropped.Add(1)
	}
}

// start makes the managers active: workers goroutines per manager take and answer offers
// until ctx ends. In target mode each manager also polls its conversations for offers.
func (p *managerPool) start(ctx context.Context, workers int) {
	if p.rec != nil {
		p.rec.mu.Lock()
		p.rec.inbox = p.deliver
		p.rec.mu.Unlock()
	}
	for _, m := range p.list {
		m := m
		for w := 0; w < workers; w++ {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				for {
					select {
					case <-ctx.Done():
						return
					case o := <-p.inbox[m.ID]:
						p.handle(ctx, m, o)
					}
				}
			}()
		}
		if p.rec == nil {
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.poll(ctx, m) }()
		}
	}
}

// wait waits for the workers after ctx has ended.
func (p *managerPool) wait() { p.wg.Wait() }

func (p *managerPool) fail(err error) {
	p.failed.Add(1)
	p.firstErr.CompareAndSwap(nil, err.Error())
}

// handle: accept, answer (contacted or reply), close.
func (p *managerPool) handle(ctx context.Context, m ManagerToken, o offer) {
	conv := p.base + "/api/v1/conversations/" + strconv.FormatInt(o.convID, 10)
	st, err := p.b.http.do(ctx, http.MethodPost, conv+"/accept", m.Token, nil, nil)
	if err != nil {
		if ctx.Err() == nil {
			p.fail(err)
		}
		return
	}
	if st == http.StatusNotFound || st == http.StatusConflict { // lapsed or taken meanwhile: a normal outcome
		p.conflicts.Add(1)
		return
	}
	if st != http.StatusOK && st != http.StatusNoContent {
		p.fail(fmt.Errorf("accept: HTTP %d", st))
		return
	}
	p.accepted.Add(1)
	if o.channel == BenchChannel {
		if p.rec != nil {
			p.rec.markReply(o.convID, time.Now())
		}
		st, err = p.b.http.do(ctx, http.MethodPost, conv+"/messages", m.Token, []byte(`{"text":"Hello! This is your manager, how can I help?"}`), nil)
	} else {
		st, err = p.b.http.do(ctx, http.MethodPost, conv+"/contacted", m.Token, nil, nil)
	}
	if err != nil || st >= 300 {
		if err == nil {
			err = fmt.Errorf("answer: HTTP %d", st)
		}
		p.fail(err)
		return
	}
	p.answered.Add(1)
	st, err = p.b.http.do(ctx, http.MethodPost, conv+"/close", m.Token, nil, nil)
	if err != nil || st >= 300 {
		if err == nil {
			err = fmt.Errorf("close: HTTP %d", st)
		}
		p.fail(err)
		return
	}
	p.closed.Add(1)
}

// apiConversation is the part of the agent API's conversation JSON the bench reads.
type apiConversation struct {
	ID             int64     `json:"id"`
	Channel        string    `json:"channel"`
	Phone          string    `json:"phone"`
	FirstInboundAt time.Time `json:"first_inbound_at"`
	FirstOfferAt   time.Time `json:"first_offer_at"`
}

// poll (target mode) finds new offers every 20 ms; inbound -> offer is taken from the
// server's own timestamps (millisecond resolution).
func (p *managerPool) poll(ctx context.Context, m ManagerToken) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var out struct {
			Offers []apiConversation `json:"offers"`
		}
		st, err := p.b.http.do(ctx, http.MethodGet, p.base+"/api/v1/managers/"+m.ID+"/conversations", m.Token, nil, &out)
		if err != nil || st != http.StatusOK {
			if ctx.Err() == nil {
				if err == nil {
					err = fmt.Errorf("list conversations: HTTP %d", st)
				}
				p.fail(err)
			}
			continue
		}
		for _, c := range out.Offers {
			_, ours := p.ours.Load(c.Phone)
			p.seenMu.Lock()
			first := !p.seen[c.ID]
			p.seen[c.ID] = true
			if first && ours {
				p.oursSeen++
			}
			p.seenMu.Unlock()
			if !first {
				continue
			}
			// Offers left from an earlier phase or run are answered too (they hold the
			// managers' capacity) but only this phase's leads are timed.
			if ours && !c.FirstInboundAt.IsZero() && !c.FirstOfferAt.IsZero() {
				p.inToOffr.add(c.FirstOfferAt.Sub(c.FirstInboundAt))
			}
			p.deliver(m.ID, offer{convID: c.ID, channel: c.Channel})
		}
	}
}

func (p *managerPool) offersSeen() int {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	return p.oursSeen
}

func (p *managerPool) allSeen() int {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	return len(p.seen)
}
