package console

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"

	"github.com/lidorub/lidorub/internal/svgchart"
	"github.com/lidorub/lidorub/router"
)

// nowData is the Now page's live part.
type nowData struct {
	Queue    []router.Conversation // waiting and offered, oldest first
	Sales    []router.Conversation // handed off: waiting for or offered to a sales manager, oldest first
	Offers   []router.Conversation // the queue's live offers
	Team     []member
	Oldest   *router.Conversation // the oldest lead no human has answered yet
	Leads    []member             // lead-managers: the targets of a reassignment
	Load     template.HTML        // load/capacity per manager, an SVG bar chart
	QueueErr string
	TeamErr  string
}

// member is one manager on the Now page.
type member struct {
	router.ManagerView
	Role string
}

func (c *Console) nowData(p *page, r *http.Request) *nowData {
	d := &nowData{}
	q, err := c.d.Ops.Queue(r.Context())
	if err != nil {
		d.QueueErr = p.T("console.error." + errCode(err))
	}
	var oldest *router.Conversation
	consider := func(cv router.Conversation) {
		if cv.Replied || cv.FirstInboundAt.IsZero() {
			return
		}
		if oldest == nil || cv.FirstInboundAt.Before(oldest.FirstInboundAt) {
			x := cv
			oldest = &x
		}
	}
	for _, cv := range q {
		if cv.State != router.StateWaiting && cv.State != router.StateOffered {
			d.Sales = append(d.Sales, cv) // handed off (router.Ops.Queue)
			continue
		}
		d.Queue = append(d.Queue, cv)
		if cv.State == router.StateOffered {
			d.Offers = append(d.Offers, cv)
		}
		consider(cv)
	}
	team, err := c.d.Ops.Team(r.Context())
	if err != nil {
		d.TeamErr = p.T("console.error." + errCode(err))
	}
	var bars []svgchart.Bar
	for _, v := range team {
		m := member{ManagerView: v, Role: c.d.Desk.Role(v.ID)}
		d.Team = append(d.Team, m)
		for _, cv := range v.Conversations {
			consider(cv)
		}
		if m.Role == router.RoleSupervisor {
			continue
		}
		if m.Role == router.RoleLead {
			d.Leads = append(d.Leads, m)
		}
		bars = append(bars, svgchart.Bar{Label: p.Manager(v.ID), Value: float64(v.Load), Max: float64(v.Capacity),
			Text: p.T("console.now.load_of", "load", v.Load, "capacity", v.Capacity)})
	}
	d.Oldest = oldest
	if len(bars) > 0 {
		d.Load = svgchart.HBar(bars, p.T("console.now.load_chart"))
	}
	return d
}

func (c *Console) now(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "now")
	p.Data = c.nowData(p, r)
	c.render(w, "now", http.StatusOK, p)
}

// nowJSON is the live part of the Now page, rendered: {"html": ..., "at": ...}. live.js
// polls it and swaps the part in (no inline script: the CSP allows only 'self').
func (c *Console) nowJSON(w http.ResponseWriter, r *http.Request, s *session) {
	p := c.newPage(r, s, "now")
	p.Path = Prefix // where the forms of the live part come back to
	p.Data = c.nowData(p, r)
	var buf bytes.Buffer
	if err := c.pages["now"].ExecuteTemplate(&buf, "live", p); err != nil {
		c.d.Log.Error("console: render live", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"html": buf.String(), "at": p.Time(p.Now)})
}
