package router

import (
	"time"

	"github.com/lidorub/lidorub/internal/conf"
)

// Assignment strategies.
const (
	LeastBusy   = "least_busy"   // fewest currently open conversations (ties: longest idle)
	RoundRobin  = "round_robin"  // next manager in config order after the last one offered
	LongestIdle = "longest_idle" // longest since their last offer
)

// Config is the router: section.
type Config struct {
	Strategy string `yaml:"strategy"`
	// OfferTimeout: an offer not accepted within it goes to the next free manager.
	OfferTimeout time.Duration `yaml:"offer_timeout"`
	// FirstResponse: after acceptance, the first human reply must come within it, else the
	// conversation is taken back, counted as an SLA breach and re-offered.
	FirstResponse time.Duration `yaml:"first_response"`
	// SpeedTarget: the speed-to-lead target of the funnel report ("answered within the SLA":
	// first inbound message to the first human reply delivered).
	SpeedTarget time.Duration `yaml:"speed_target"`
	// MaxOffers: after this many offers without a first reply the conversation is escalated
	// (it keeps waiting and being offered).
	MaxOffers int `yaml:"max_offers"`
	// Escalation: who is told about escalations, send failures and channel alerts.
	Escalation Escalation `yaml:"escalation"`
	// TranscriptLimit caps the messages kept per conversation.
	TranscriptLimit int `yaml:"transcript_limit"`
	// Retention: a closed conversation and its transcript are deleted this long after closing.
	Retention time.Duration `yaml:"retention"`
	// AbandonedRetention: an open conversation (waiting, offered or assigned) with no customer
	// message, accept or first reply for this long is erased like a closed one at the end of
	// its retention.
	AbandonedRetention time.Duration `yaml:"abandoned_retention"`
	// Workers: inbound, outbound and event consumers per process.
	Workers int `yaml:"workers"`
	// TimerInterval: how often due timers are popped (re-offer lateness is at most about this).
	TimerInterval time.Duration `yaml:"timer_interval"`
	// ReclaimIdle: stream entries pending this long on a dead instance are taken over.
	ReclaimIdle time.Duration `yaml:"reclaim_idle"`
	// MaxDeliveries: a stream entry failing this many times goes to the dead-letter stream.
	MaxDeliveries int `yaml:"max_deliveries"`
	// SendRetries: temporary send failures are retried this many times with backoff before the
	// entry is left for redelivery.
	SendRetries int `yaml:"send_retries"`
	// OffHoursWhen: when a new conversation gets the off-hours text instead of the
	// acknowledgement: schedule (no lead-manager on shift; default) or nobody_online (no
	// lead-manager on shift, or none of those on shift is online).
	OffHoursWhen string `yaml:"off_hours_when"`
	// TimeZone: the company's IANA time zone, in which the off-hours text gives the expected
	// answer time when the customer's zone is unknown. Empty: the zone of the shift that
	// starts next.
	TimeZone string `yaml:"time_zone"`
	// PreChat: questions the bot asks a waiting lead (off unless channels are listed).
	PreChat PreChat `yaml:"prechat"`
}

// Escalation names the people told about escalations.
type Escalation struct {
	// Managers (ids from managers:) who receive escalations, e.g. supervisors.
	Managers []string `yaml:"managers"`
	// TelegramChatID: a supervisors' group chat the staff bot posts escalations to (0 = none).
	TelegramChatID int64 `yaml:"telegram_chat_id"`
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	conf.Default(&c.Strategy, LeastBusy)
	conf.Default(&c.OfferTimeout, 30*time.Second)
	conf.Default(&c.FirstResponse, 2*time.Minute)
	conf.Default(&c.SpeedTarget, time.Minute)
	conf.Default(&c.MaxOffers, 3)
	conf.Default(&c.TranscriptLimit, 200)
	conf.Default(&c.Retention, 90*24*time.Hour)
	conf.Default(&c.AbandonedRetention, 180*24*time.Hour)
	conf.Default(&c.Workers, 4)
	conf.Default(&c.TimerInterval, 50*time.Millisecond)
	conf.Default(&c.ReclaimIdle, 30*time.Second)
	conf.Default(&c.MaxDeliveries, 5)
	conf.Default(&c.SendRetries, 3)
	conf.Default(&c.OffHoursWhen, OffHoursSchedule)
	c.PreChat.Defaults()
}

// Validate checks the section; paths are relative to "router".
func (c *Config) Validate() error {
	var errs conf.Errors
	switch c.Strategy {
	case LeastBusy, RoundRobin, LongestIdle:
	default:
		errs.Add("strategy", "must be one of least_busy, round_robin, longest_idle (got %q)", c.Strategy)
	}
	pos := func(path string, d time.Duration) {
		if d <= 0 {
			errs.Add(path, "must be positive")
		}
	}
	pos("offer_timeout", c.OfferTimeout)
	pos("first_response", c.FirstResponse)
	pos("speed_target", c.SpeedTarget)
	pos("retention", c.Retention)
	pos("abandoned_retention", c.AbandonedRetention)
	pos("timer_interval", c.TimerInterval)
	pos("reclaim_idle", c.ReclaimIdle)
	if c.MaxOffers < 1 {
		errs.Add("max_offers", "must be at least 1")
	}
	if c.TranscriptLimit < 1 {
		errs.Add("transcript_limit", "must be at least 1")
	}
	if c.Workers < 1 || c.Workers > 256 {
		errs.Add("workers", "must be between 1 and 256")
	}
	if c.MaxDeliveries < 1 {
		errs.Add("max_deliveries", "must be at least 1")
	}
	if c.SendRetries < 0 {
		errs.Add("send_retries", "must not be negative")
	}
	if c.OffHoursWhen != OffHoursSchedule && c.OffHoursWhen != OffHoursNobodyOnline {
		errs.Add("off_hours_when", "must be schedule or nobody_online (got %q)", c.OffHoursWhen)
	}
	errs.Merge("prechat", c.PreChat.Validate())
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			errs.Add("time_zone", "unknown time zone %q", c.TimeZone)
		}
	}
	return errs.Err()
}
