package ledger

// Strategies of the sales tier (sales.strategy).
const (
	RoundRobin     = "round_robin"
	LeastLoaded    = "least_loaded"
	Weighted       = "weighted"
	BestConversion = "best_conversion"
)

// Strategies lists every strategy Decide knows, in a fixed order.
func Strategies() []string { return []string{RoundRobin, LeastLoaded, Weighted, BestConversion} }

// KnownStrategy reports whether Decide knows s.
func KnownStrategy(s string) bool {
	switch s {
	case RoundRobin, LeastLoaded, Weighted, BestConversion:
		return true
	}
	return false
}

// Decision is the outcome of one automatic decision and the strategy state after it.
type Decision struct {
	Chosen string // "" when nobody was eligible
	// Ptr is the round-robin pointer after the decision: the chosen id for round_robin when
	// somebody was chosen, else the pointer given (the other strategies never move it).
	Ptr string
	// CW is every candidate's smooth-weighted-round-robin current weight after the decision
	// (weighted and best_conversion; the other strategies leave every CW as it was).
	CW map[string]int64
}

// Decide replays the rules of the package documentation: the id the strategy chooses among
// cands, given the round-robin pointer ptr, or "" when nobody is eligible or the strategy is
// unknown. The order of cands does not matter (ties go to the lowest id by comparison).
func Decide(strategy, ptr string, cands []Candidate) (chosen string) {
	return Apply(strategy, ptr, cands).Chosen
}

// Apply is Decide with the state transition: the new pointer and every candidate's new CW.
// An unknown strategy chooses nobody and changes nothing (see KnownStrategy).
func Apply(strategy, ptr string, cands []Candidate) Decision {
	chosen := ""
	switch strategy {
	case RoundRobin:
		chosen = roundRobin(ptr, cands)
	case LeastLoaded:
		chosen = leastLoaded(cands)
	case Weighted, BestConversion:
		chosen = smoothWeighted(cands)
	}
	return Transition(strategy, ptr, cands, chosen)
}

// Transition is the strategy state after chosen was given the lead (whether or not the rule
// would have chosen it; "" = nobody, nothing changes): round_robin's pointer moves to chosen;
// under weighted and best_conversion each eligible candidate's CW grows by its W and chosen's
// CW drops by the sum of the eligible W. Every other CW stays.
func Transition(strategy, ptr string, cands []Candidate, chosen string) Decision {
	d := Decision{Chosen: chosen, Ptr: ptr, CW: make(map[string]int64, len(cands))}
	for _, c := range cands {
		d.CW[c.ID] = c.CW
	}
	if chosen == "" {
		return d
	}
	switch strategy {
	case RoundRobin:
		d.Ptr = chosen
	case Weighted, BestConversion:
		var sum int64
		for _, c := range cands {
			if c.Skip == "" {
				d.CW[c.ID] = c.CW + c.W
				sum += c.W
			}
		}
		d.CW[chosen] -= sum
	}
	return d
}

// roundRobin: the eligible candidate with the lowest id after ptr, else (wrapping round) the
// eligible one with the lowest id. ptr need not be in the roster any more.
func roundRobin(ptr string, cands []Candidate) string {
	after, first := "", ""
	for _, c := range cands {
		if c.Skip != "" {
			continue
		}
		if first == "" || c.ID < first {
			first = c.ID
		}
		if c.ID > ptr && (after == "" || c.ID < after) {
			after = c.ID
		}
	}
	if after != "" {
		return after
	}
	return first
}

// leastLoaded: the lowest (Load, Last, id) among the eligible.
func leastLoaded(cands []Candidate) string {
	var best *Candidate
	for i := range cands {
		c := &cands[i]
		if c.Skip != "" {
			continue
		}
		if best == nil || c.Load < best.Load ||
			c.Load == best.Load && (c.Last < best.Last || c.Last == best.Last && c.ID < best.ID) {
			best = c
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
}

// smoothWeighted is nginx's smooth weighted round robin over the eligible: the highest CW+W
// wins (ties: the lowest id). Transition applies the weights' change.
func smoothWeighted(cands []Candidate) string {
	best, bestCW := "", int64(0)
	for _, c := range cands {
		if c.Skip != "" {
			continue
		}
		if cw := c.CW + c.W; best == "" || cw > bestCW || cw == bestCW && c.ID < best {
			best, bestCW = c.ID, cw
		}
	}
	return best
}

// ConversionScore is best_conversion's weight of a candidate: max(floor, 1000 * (won +
// priorWon) / (got + priorLeads)) with integer division (0 when the denominator is not
// positive, then floored).
func ConversionScore(won, got, priorWon, priorLeads, floor int64) int64 {
	var s int64
	if d := got + priorLeads; d > 0 {
		s = 1000 * (won + priorWon) / d
	}
	return max(s, floor)
}
