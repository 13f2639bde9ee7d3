package router

// StreamKeys returns the Redis keys of the streams the router consumes, by the short name
// the stream gauges use as their label (inbound, timers, events, outbound). The consumers
// report failures and dead letters under the key itself (lidorub_handler_failures_total,
// lidorub_dead_lettered_total), so app starts those series at zero with these keys.
func (r *Router) StreamKeys() map[string]string {
	k := r.b.keys
	return map[string]string{"inbound": k.Inbound(), "timers": k.fired(), "events": k.events(), "outbound": k.outbound()}
}
