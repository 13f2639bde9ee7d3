package router

import "github.com/lidorub/lidorub/store"

// TimelineStream is the {P}:timeline stream (see keys.go): every timeline entry of every
// lead, fields c (conversation id), s (stage), m (manager), x (JSON extra), at (ms). Packages
// outside the router (event webhooks, CRM connectors) read it in their own consumer group.
func TimelineStream(k store.Keys) string { return newKeys(k).timelineStream() }
