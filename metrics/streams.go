package metrics

// InitStreams starts the per-stream counters (failures, dead letters) of the given stream
// keys at zero, so that a rate or an increase over them sees the first failure too.
func (m *Metrics) InitStreams(keys ...string) {
	for _, k := range keys {
		m.DeadLettered.WithLabelValues(k)
		m.HandlerFailures.WithLabelValues(k)
	}
}
