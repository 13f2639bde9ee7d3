package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of a run (printed as a table, or as JSON with --json).
type Report struct {
	Mode        string        `json:"mode"`
	StartedAt   time.Time     `json:"started_at"`
	Concurrency int           `json:"concurrency"`
	Rate        float64       `json:"rate"`
	Machine     Machine       `json:"machine"`
	Raw         *RawResult    `json:"raw_xadd,omitempty"`
	Ingest      *IngestResult `json:"ingest,omitempty"`
	Speed       *SpeedResult  `json:"speed,omitempty"`
	Timers      *TimerResult  `json:"timers,omitempty"`
	Memory      *MemoryResult `json:"memory,omitempty"`
	Targets     []Target      `json:"targets"`
	Prefixes    []string      `json:"prefixes"` // Redis key prefixes the run used (all deleted at the end)
}

// Machine describes where the run happened.
type Machine struct {
	CPUs         int    `json:"cpus"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	CPUModel     string `json:"cpu_model"`
	Memory       string `json:"memory"`
	RedisVersion string `json:"redis_version"`
	GoVersion    string `json:"go_version"`
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

// RawResult is the go-redis XADD baseline.
type RawResult struct {
	Ops          int64   `json:"ops"`
	Seconds      float64 `json:"seconds"`
	PerSec       float64 `json:"per_sec"`
	PayloadBytes int     `json:"payload_bytes"`
}

// IngestResult is the closed-loop web-form phase.
type IngestResult struct {
	Posted     int64   `json:"posted"`
	Accepted   int64   `json:"accepted"`
	Duplicates int64   `json:"duplicates"`
	Failed     int64   `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	PerSec     float64 `json:"per_sec"`
	HTTP       Latency `json:"http_latency"`
	RatioToRaw float64 `json:"ratio_to_raw_xadd"`
	// RouterHeld: the in-process gateway's router was held while the leads were posted and
	// GET /healthz measured (per_sec, ratio_to_healthz and form_cpu_per_lead are the HTTP
	// form path alone), then released on the stored backlog. False against a target.
	RouterHeld bool `json:"router_held"`
	// FormCPU is CPU per accepted lead while the leads were posted (router held: the form
	// path alone, client and server, and Redis).
	FormCPU *CPUCost `json:"form_cpu_per_lead,omitempty"`
	Offered int      `json:"offered"`
	// RouterSeconds / RouterPerSec: router released -> last first offer dispatched, and the
	// backlog's leads offered per second (qualify -> offer alone); RouterCPU per lead.
	RouterSeconds float64  `json:"router_seconds,omitempty"`
	RouterPerSec  float64  `json:"router_per_sec,omitempty"`
	RouterCPU     *CPUCost `json:"router_cpu_per_conversation,omitempty"`
	// PipelineSeconds: first POST -> last first offer dispatched; with the router held,
	// the POSTs' time plus the router's (the GET /healthz measurement between them left out).
	PipelineSeconds float64  `json:"pipeline_seconds"`
	PipelinePerSec  float64  `json:"pipeline_per_sec"` // new conversations offered per second
	CPU             *CPUCost `json:"cpu_per_conversation,omitempty"`
	HealthzPerSec   float64  `json:"healthz_per_sec"` // the same clients on GET /healthz: this machine's HTTP ceiling (mean of before and after)
	// HealthzBeforePerSec and HealthzAfterPerSec: GET /healthz measured just before and just
	// after the form path (the first also opens the clients' connections).
	HealthzBeforePerSec float64 `json:"healthz_before_per_sec,omitempty"`
	HealthzAfterPerSec  float64 `json:"healthz_after_per_sec,omitempty"`
	// RatioToHealthz: accepted form webhooks/s over GET /healthz/s, both measured in this
	// run with the same clients (and, in-process, the router held during both): what the
	// form path costs over a bare request.
	RatioToHealthz float64 `json:"ratio_to_healthz"`
	// HealthzProcessUS is this process's CPU per GET /healthz (client and server), to set
	// against cpu_per_conversation.process_us when other load makes the rates noisy.
	HealthzProcessUS float64 `json:"healthz_process_us"`
	// IngesterPerSec: the same leads through the gateway's Ingester in-process (no HTTP).
	IngesterPerSec     float64 `json:"ingester_per_sec"`
	IngesterRatioToRaw float64 `json:"ingester_ratio_to_raw_xadd"`
}

// maxHealthzDrift is how far apart (of their mean) GET /healthz before and after the form
// path may be before the report warns that the machine's speed changed during the run: on a
// shared two-core machine the same binary's ratio moves by ±10 points between such runs.
const maxHealthzDrift = 0.15

// healthzDrift is |before - after| / their mean (0 when either is missing).
func (r *IngestResult) healthzDrift() float64 {
	b, a := r.HealthzBeforePerSec, r.HealthzAfterPerSec
	if b <= 0 || a <= 0 {
		return 0
	}
	return math.Abs(b-a) / ((b + a) / 2)
}

// SpeedResult is the software's share of speed-to-lead at a set rate.
type SpeedResult struct {
	LeaveForms           bool     `json:"leave_forms"` // managers left form leads offered (answered only the bench channel)
	Rate                 float64  `json:"rate"`
	Seconds              float64  `json:"seconds"`
	FormLeads            int      `json:"form_leads"`
	AchievedRate         float64  `json:"achieved_rate"`
	FormAccepted         int64    `json:"form_accepted"`
	FormFailed           int64    `json:"form_failed"`
	FormHTTP             Latency  `json:"form_http_latency"`
	BenchLeads           int64    `json:"bench_channel_leads"`
	BenchFailed          int64    `json:"bench_channel_failed"`
	Offered              int      `json:"offered"`
	Unknown              int      `json:"unknown_offers"`
	InboundToOffer       Latency  `json:"inbound_to_offer"`
	PostToOffer          Latency  `json:"post_to_offer"`
	ServerInboundToOffer *Latency `json:"server_inbound_to_offer,omitempty"` // target mode: server timestamps, ms resolution
	OfferMade            Latency  `json:"inbound_to_offer_made"`             // first_inbound_at -> first_offer_at (server, ms resolution)
	OfferDispatch        Latency  `json:"offer_made_to_dispatch"`            // first_offer_at -> notifier called
	ReplyToSender        Latency  `json:"reply_to_sender"`
	ReplyQueuedToSender  Latency  `json:"reply_queued_to_sender"` // the router recorded the reply -> Sender.Send
	Replies              int      `json:"replies"`
	Accepted             int64    `json:"accepted"`
	Answered             int64    `json:"answered"`
	Closed               int64    `json:"closed"`
	Conflicts            int64    `json:"conflicts"`
	ManagerErrors        int64    `json:"manager_errors"`
	Dropped              int64    `json:"dropped_offers"`
	FirstError           string   `json:"first_error,omitempty"`
	CPU                  *CPUCost `json:"cpu_per_conversation,omitempty"` // whole lifecycle: ingest, offer, accept, answer, close
}

// TimerResult is re-offer lateness.
type TimerResult struct {
	OfferTimeout string            `json:"offer_timeout"`
	Leads        int               `json:"leads"`
	Reoffers     int               `json:"reoffers"`
	Lateness     Latency           `json:"reoffer_lateness"`
	Metric       *HistogramSummary `json:"lidorub_timer_lateness_seconds,omitempty"`
}

// HistogramSummary is a Prometheus histogram read from the gateway's registry.
type HistogramSummary struct {
	Count  uint64  `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms_estimated"`
	P99MS  float64 `json:"p99_ms_estimated"`
}

// MemoryResult is Redis memory per open conversation and per transcript message.
type MemoryResult struct {
	Conversations            int        `json:"conversations"`
	Offered                  int        `json:"offered"`
	InfoDelta                int64      `json:"info_used_memory_delta"`
	PerConversationInfo      float64    `json:"per_conversation_info_bytes"` // INFO delta minus transcripts, per conversation
	PerConversationKeys      float64    `json:"per_conversation_keys_bytes"` // MEMORY USAGE of the prefix's keys minus transcripts
	FirstLinePerConversation float64    `json:"first_transcript_line_bytes"`
	KeysByKind               []KeyBytes `json:"keys_by_kind"`
	Messages                 int        `json:"messages"`
	PerMessageInfo           float64    `json:"per_message_info_bytes"`
	PerMessageKeys           float64    `json:"per_message_keys_bytes"`
	PerMessageTranscript     float64    `json:"per_message_transcript_bytes"`
}

// KeyBytes is the memory of one kind of key.
type KeyBytes struct {
	Kind            string  `json:"kind"`
	Bytes           int64   `json:"bytes"`
	PerConversation float64 `json:"per_conversation"`
}

// Target is one goal of issue 6 with the measured value.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

func targets(r *Report) []Target {
	var t []Target
	if r.Ingest != nil && r.Ingest.Offered > 0 {
		t = append(t, Target{"pipeline ingest -> qualify -> offer", ">= 5000 new conversations/s",
			fmt.Sprintf("%.0f/s", r.Ingest.PipelinePerSec), r.Ingest.PipelinePerSec >= 5000})
	}
	if r.Ingest != nil && r.Raw != nil {
		t = append(t, Target{"ingest / raw XADD", ">= 40%",
			fmt.Sprintf("%.0f%% (%.0f/s vs %.0f/s)", r.Ingest.RatioToRaw*100, r.Ingest.PerSec, r.Raw.PerSec), r.Ingest.RatioToRaw >= 0.4})
	}
	if r.Ingest != nil && r.Ingest.RatioToHealthz > 0 {
		name := "form webhooks / GET /healthz (same run)"
		if r.Ingest.RouterHeld {
			name = "form webhooks / GET /healthz (same run, router held)"
		}
		t = append(t, Target{name, ">= 50%",
			fmt.Sprintf("%.0f%% (%.0f/s vs %.0f/s)", r.Ingest.RatioToHealthz*100, r.Ingest.PerSec, r.Ingest.HealthzPerSec), r.Ingest.RatioToHealthz >= 0.5})
	}
	if r.Speed != nil && r.Speed.ServerInboundToOffer != nil && r.Speed.ServerInboundToOffer.N > 0 {
		l := r.Speed.ServerInboundToOffer
		t = append(t, Target{fmt.Sprintf("inbound -> offer made p99 at %.0f/s (server timestamps, ms)", r.Speed.AchievedRate), "<= 20 ms",
			fmt.Sprintf("%.0f ms", l.P99), l.P99 <= 20 && r.Speed.AchievedRate >= 0.95*r.Speed.Rate})
	}
	if r.Speed != nil && r.Speed.InboundToOffer.N > 0 {
		t = append(t, Target{fmt.Sprintf("inbound -> offer p99 at %.0f/s", r.Speed.AchievedRate), "<= 20 ms",
			fmt.Sprintf("%.2f ms", r.Speed.InboundToOffer.P99), r.Speed.InboundToOffer.P99 <= 20 && r.Speed.AchievedRate >= 0.95*r.Speed.Rate})
	}
	if r.Timers != nil && r.Timers.Lateness.N > 0 {
		t = append(t, Target{"re-offer lateness p99", "<= 250 ms",
			fmt.Sprintf("%.1f ms", r.Timers.Lateness.P99), r.Timers.Lateness.P99 <= 250})
	}
	if r.Memory != nil && r.Memory.Conversations > 0 {
		worst := max(r.Memory.PerConversationInfo, r.Memory.PerConversationKeys)
		t = append(t, Target{"Redis memory per open conversation (no transcript)", "<= 2048 B",
			fmt.Sprintf("%.0f B (INFO) / %.0f B (keys)", r.Memory.PerConversationInfo, r.Memory.PerConversationKeys), worst <= 2048})
	}
	return t
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func lat(l Latency) string {
	if l.N == 0 {
		return "-"
	}
	return fmt.Sprintf("p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms (n=%d)", l.P50, l.P99, l.P999, l.Max, l.N)
}

// WriteTable writes the human-readable report.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	m := r.Machine
	fmt.Fprintf(tw, "lidorub bench (%s), concurrency %d\n", r.Mode, r.Concurrency)
	fmt.Fprintf(tw, "machine\t%d CPUs (%s), %s, Redis %s, %s, load average %s -> %s\n", m.CPUs, m.CPUModel, m.Memory, m.RedisVersion, m.GoVersion, m.LoadAvgStart, m.LoadAvgEnd)
	if x := r.Raw; x != nil {
		fmt.Fprintf(tw, "raw go-redis XADD\t%.0f/s (%d x %d B in %.2fs)\n", x.PerSec, x.Ops, x.PayloadBytes, x.Seconds)
	}
	if x := r.Ingest; x != nil {
		held := ""
		if x.RouterHeld {
			held = " (router held)"
		}
		fmt.Fprintf(tw, "ingest: form webhooks accepted%s\t%.0f/s (%d accepted, %d duplicate, %d failed in %.2fs)", held, x.PerSec, x.Accepted, x.Duplicates, x.Failed, x.Seconds)
		if x.RatioToRaw > 0 {
			fmt.Fprintf(tw, ", %.0f%% of raw XADD", x.RatioToRaw*100)
		}
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "ingest: HTTP latency%s\t%s\n", held, lat(x.HTTP))
		if x.HealthzPerSec > 0 {
			ceiling, what := "GET /healthz, same clients", "form webhooks / GET /healthz"
			if x.RouterHeld {
				ceiling += ", router held"
				what += " (form path alone)"
			}
			fmt.Fprintf(tw, "ingest: HTTP ceiling (%s)\t%.0f/s", ceiling, x.HealthzPerSec)
			if x.HealthzBeforePerSec > 0 && x.HealthzAfterPerSec > 0 {
				fmt.Fprintf(tw, " (mean of %.0f/s before and %.0f/s after the form path)", x.HealthzBeforePerSec, x.HealthzAfterPerSec)
			}
			fmt.Fprintln(tw)
			if d := x.healthzDrift(); d > maxHealthzDrift {
				fmt.Fprintf(tw, "ingest: note	GET /healthz was %.0f%% apart before and after the form path: the machine's speed changed during the run, so the ratio below is uncertain (run again)\n", d*100)
			}
			fmt.Fprintf(tw, "ingest: %s\t%.0f%%", what, x.RatioToHealthz*100)
			switch c := x.FormCPU; {
			case c != nil && x.HealthzProcessUS > 0:
				fmt.Fprintf(tw, " (CPU of this process per request: GET /healthz %.0f us, form lead %.0f us + %.0f us Redis)", x.HealthzProcessUS, c.ProcessUS, c.RedisUS)
			case x.CPU != nil && x.HealthzProcessUS > 0:
				fmt.Fprintf(tw, " (CPU of this process per request: GET /healthz %.0f us, form lead %.0f us with its way to an offer)", x.HealthzProcessUS, x.CPU.ProcessUS)
			}
			fmt.Fprintln(tw)
		}
		if x.IngesterPerSec > 0 {
			fmt.Fprintf(tw, "ingest: in-process Ingester (no HTTP, router running)\t%.0f/s", x.IngesterPerSec)
			if x.IngesterRatioToRaw > 0 {
				fmt.Fprintf(tw, ", %.0f%% of raw XADD", x.IngesterRatioToRaw*100)
			}
			fmt.Fprintln(tw)
		}
		if x.RouterPerSec > 0 {
			fmt.Fprintf(tw, "pipeline: router on the held backlog (qualify -> offer)\t%.0f new conversations/s (%d offered in %.2fs after release)", x.RouterPerSec, x.Offered, x.RouterSeconds)
			if c := x.RouterCPU; c != nil {
				fmt.Fprintf(tw, "; %.0f us process + %.0f us Redis, %.1f Redis calls per lead", c.ProcessUS, c.RedisUS, c.RedisCommands)
			}
			fmt.Fprintln(tw)
		}
		if x.Offered > 0 {
			fmt.Fprintf(tw, "pipeline: ingest -> qualify -> offer\t%.0f new conversations/s (%d offered", x.PipelinePerSec, x.Offered)
			if x.RouterHeld {
				fmt.Fprintf(tw, " in %.2fs: POSTs %.2fs, then the router %.2fs)\n", x.PipelineSeconds, x.Seconds, x.RouterSeconds)
			} else {
				fmt.Fprintf(tw, ", last after %.2fs)\n", x.PipelineSeconds)
			}
		}
		if c := x.CPU; c != nil {
			fmt.Fprintf(tw, "pipeline: CPU per conversation\t%.0f us bench process (gateway + load) + %.0f us Redis, %.1f Redis calls; idle 2-core estimate %.0f/s\n",
				c.ProcessUS, c.RedisUS, c.RedisCommands, c.IdleEstimate)
		}
		if x.FirstError != "" {
			fmt.Fprintf(tw, "ingest: first error\t%s\n", x.FirstError)
		}
	}
	if x := r.Speed; x != nil {
		if x.LeaveForms {
			fmt.Fprintf(tw, "speed: managers\tleave form leads offered, answer only the bench channel (--leave-forms)\n")
		}
		fmt.Fprintf(tw, "speed: load\t%d form leads at %.0f/s (asked %.0f/s) + %d bench-channel leads; %d offered; managers: %d accepted, %d answered, %d closed, %d conflicts, %d errors\n",
			x.FormLeads, x.AchievedRate, x.Rate, x.BenchLeads, x.Offered, x.Accepted, x.Answered, x.Closed, x.Conflicts, x.ManagerErrors)
		fmt.Fprintf(tw, "speed: form HTTP latency\t%s\n", lat(x.FormHTTP))
		if x.ServerInboundToOffer != nil {
			fmt.Fprintf(tw, "speed: inbound -> offer (server timestamps)\t%s\n", lat(*x.ServerInboundToOffer))
		} else {
			fmt.Fprintf(tw, "speed: inbound received -> offer dispatched\t%s\n", lat(x.InboundToOffer))
			fmt.Fprintf(tw, "speed: form POST sent -> offer dispatched\t%s\n", lat(x.PostToOffer))
			fmt.Fprintf(tw, "speed:   of which inbound -> offer made in Redis\t%s\n", lat(x.OfferMade))
			fmt.Fprintf(tw, "speed:   of which offer made -> event dispatched\t%s\n", lat(x.OfferDispatch))
			fmt.Fprintf(tw, "speed: manager reply -> channel sender\t%s\n", lat(x.ReplyToSender))
			fmt.Fprintf(tw, "speed:   of which reply queued by the router -> sender\t%s\n", lat(x.ReplyQueuedToSender))
		}
		if c := x.CPU; c != nil {
			fmt.Fprintf(tw, "speed: CPU per conversation (whole lifecycle)\t%.0f us bench process + %.0f us Redis, %.1f Redis calls; idle 2-core estimate %.0f/s\n",
				c.ProcessUS, c.RedisUS, c.RedisCommands, c.IdleEstimate)
		}
		if x.FirstError != "" {
			fmt.Fprintf(tw, "speed: first error\t%s\n", x.FirstError)
		}
	}
	if x := r.Timers; x != nil {
		fmt.Fprintf(tw, "timers: re-offer lateness (offer_timeout %s)\t%s, %d re-offers of %d leads\n", x.OfferTimeout, lat(x.Lateness), x.Reoffers, x.Leads)
		if h := x.Metric; h != nil {
			fmt.Fprintf(tw, "timers: lidorub_timer_lateness_seconds\tcount %d, mean %.2f ms, p50 ~%.1f ms, p99 ~%.1f ms (bucket estimate)\n", h.Count, h.MeanMS, h.P50MS, h.P99MS)
		}
	}
	if x := r.Memory; x != nil {
		fmt.Fprintf(tw, "memory: per open conversation\t%.0f B (INFO used_memory delta) / %.0f B (MEMORY USAGE of its keys), without transcript; %d conversations\n",
			x.PerConversationInfo, x.PerConversationKeys, x.Conversations)
		var parts []string
		for _, k := range x.KeysByKind {
			parts = append(parts, fmt.Sprintf("%s %.0f", k.Kind, k.PerConversation))
		}
		fmt.Fprintf(tw, "memory: per conversation by key\t%s\n", strings.Join(parts, ", "))
		fmt.Fprintf(tw, "memory: per transcript message\t%.0f B (INFO) / %.0f B (keys) of which %.0f B the transcript line; %d messages\n",
			x.PerMessageInfo, x.PerMessageKeys, x.PerMessageTranscript, x.Messages)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(tw, "\ntarget\tgoal\tmeasured\tmet")
		for _, t := range r.Targets {
			ok := "MISSED"
			if t.Met {
				ok = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Goal, t.Measured, ok)
		}
	}
	return tw.Flush()
}
