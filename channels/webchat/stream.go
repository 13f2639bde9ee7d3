package webchat

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// batch is how many events one read of the history returns.
const batch = 100

// reportTimeout bounds the delivery report written after the visitor may have gone.
const reportTimeout = 5 * time.Second

// resumePoint is where a stream continues: Last-Event-ID (sent by EventSource on reconnect),
// else ?after=, else the start of the history.
func resumePoint(r *http.Request) string {
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if entryIDRE.MatchString(v) {
			return v
		}
	}
	return "0"
}

// events streams the session's history after the resume point, then every new event, as
// Server-Sent Events ("id: <entry id>", "data: <Event JSON>"), with a keep-alive comment every
// heartbeat, for at most stream_duration (EventSource then reconnects with Last-Event-ID).
func (c *Channel) events(w http.ResponseWriter, r *http.Request) {
	sid, aerr := c.auth(r)
	if aerr != nil {
		c.fail(w, aerr)
		return
	}
	after := resumePoint(r)
	wake, done := c.hub.wait(sid) // before the first read: nothing appended after it is missed
	defer done()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	// A stream outlasts http.write_timeout: each write gets its own deadline instead.
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(c.cfg.Heartbeat + 10*time.Second)) }
	deadline()
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	c.m.streams.WithLabelValues("sse").Inc()
	end := time.NewTimer(c.cfg.StreamDuration)
	defer end.Stop()
	beat := time.NewTicker(c.cfg.Heartbeat)
	defer beat.Stop()
	ctx := r.Context()
	for {
		evs, err := c.readAfter(ctx, sid, after, batch)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("webchat: history not read", "err", err)
			}
			return // the browser reconnects and resumes
		}
		if len(evs) > 0 {
			deadline()
			for _, ev := range evs {
				b, _ := json.Marshal(ev)
				if _, err := w.Write([]byte("id: " + ev.ID + "\ndata: " + string(b) + "\n\n")); err != nil {
					return
				}
			}
			if err := rc.Flush(); err != nil {
				return
			}
			c.delivered(ctx, sid, evs, "sse")
			after = evs[len(evs)-1].ID
			if len(evs) == batch {
				continue
			}
		} else if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-wake:
		case <-beat.C:
			deadline()
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
		}
	}
}

// poll is the long-polling fallback: the events after ?after= (up to 100), waiting up to
// ?wait= seconds (at most poll_wait) for one when there are none.
func (c *Channel) poll(w http.ResponseWriter, r *http.Request) {
	sid, aerr := c.auth(r)
	if aerr != nil {
		c.fail(w, aerr)
		return
	}
	after := resumePoint(r)
	wait := c.cfg.PollWait
	if s := r.URL.Query().Get("wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			c.fail(w, &apiError{Status: http.StatusBadRequest, Msg: "wait must be a number of seconds", Code: "malformed", Field: "wait"})
			return
		}
		if d := time.Duration(n) * time.Second; d < wait {
			wait = d
		}
	}
	wake, done := c.hub.wait(sid)
	defer done()
	// The wait may outlast http.write_timeout: this response has its own deadline.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + time.Minute))
	c.m.streams.WithLabelValues("poll").Inc()
	ctx := r.Context()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		evs, err := c.readAfter(ctx, sid, after, batch)
		if err != nil {
			c.log.Warn("webchat: history not read", "err", err)
			c.fail(w, &apiError{Status: http.StatusServiceUnavailable, Msg: "temporarily unavailable, retry later", Code: "unavailable", After: 2 * time.Second})
			return
		}
		if len(evs) > 0 || wait == 0 {
			if evs == nil {
				evs = []Event{}
			}
			writeJSON(w, http.StatusOK, map[string]any{"events": evs})
			c.delivered(ctx, sid, evs, "poll")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-timeout.C:
			wait = 0 // one last read
		case <-wake:
		}
	}
}

// delivered reports the replies among evs as delivered to the visitor, once each: a
// channels.KindStatus item for the router (ref = the SendResult's ChannelMessageID).
//
// The events were already written and flushed: the report must not depend on the visitor
// staying connected (a visitor who closes the tab right after reading would otherwise leave a
// delivered reply unreported for ever, since the resumed stream starts after it). It runs on
// a context detached from the request's cancellation, bounded by reportTimeout.
func (c *Channel) delivered(ctx context.Context, sid string, evs []Event, transport string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	var outs []Event
	var fields []string
	for _, ev := range evs {
		if ev.Dir == "out" && ev.outID != "" {
			outs = append(outs, ev)
			fields = append(fields, "d:"+ev.outID)
		}
	}
	if len(outs) == 0 {
		return
	}
	done, err := c.rdb.HMGet(ctx, c.seenKey(sid), fields...).Result()
	if err != nil {
		return // reported on the visitor's next read
	}
	for i, ev := range outs {
		if done[i] != nil {
			continue
		}
		now := c.clk.Now().UTC()
		in := channels.Inbound{Kind: channels.KindStatus, Channel: Name, Account: c.cfg.Account, MessageID: "dlv:" + ev.outID,
			ContactID: sid, Meta: map[string]string{"ref": sid + "/" + ev.ID, "status": "delivered", "transport": transport}, ReceivedAt: now}
		if _, err := c.ing.Ingest(ctx, in); err != nil {
			c.log.Warn("webchat: delivery not reported", "err", err)
			return
		}
		c.rdb.HSet(ctx, c.seenKey(sid), fields[i], ms(now))
		c.m.delivered.WithLabelValues(transport).Inc()
	}
}
