package router

// The sales tier's desk methods are in sales.go; Timeline is in desk_timeline.go.
