package router

import "context"

// Timeline is a lead's stages, oldest first (stub until the timeline lands).
func (d *desk) Timeline(ctx context.Context, convID int64) ([]TimelineEntry, error) {
	return nil, ErrNotImplemented
}
