package router

import (
	"context"
	"encoding/json"
	"fmt"
)

// tlEntry is a timeline entry as lib.lua timeline() stores it: x is a JSON object of string
// fields ("" = none).
type tlEntry struct {
	S  string `json:"s"`
	At int64  `json:"at"`
	M  string `json:"m"`
	X  string `json:"x"`
}

func (e tlEntry) entry() TimelineEntry {
	te := TimelineEntry{Stage: e.S, At: fromMS(e.At), Manager: e.M}
	if e.X != "" {
		_ = json.Unmarshal([]byte(e.X), &te.Extra) // written by lib.lua: a flat object of strings
	}
	return te
}

// decodeTimeline decodes the lines of a {P}:conv:<id>:tl list, skipping malformed ones.
func decodeTimeline(lines []string) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(lines))
	for _, l := range lines {
		var e tlEntry
		if json.Unmarshal([]byte(l), &e) != nil || e.S == "" {
			continue
		}
		out = append(out, e.entry())
	}
	return out
}

// Timeline is a lead's stages, oldest first. ErrNotFound when the lead has no timeline (it
// does not exist, was erased or retired).
func (d *desk) Timeline(ctx context.Context, convID int64) ([]TimelineEntry, error) {
	lines, err := d.rdb.LRange(ctx, d.keys.timeline(convID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	if len(lines) == 0 {
		return nil, ErrNotFound
	}
	return decodeTimeline(lines), nil
}
