package router

import (
	"sync"
	"time"

	"github.com/lidorub/lidorub/channels"
)

// team is the configured managers, validated and indexed.
type team struct {
	managers []Manager
	byID     map[string]*Manager
	byTG     map[int64]string
}

func newTeam(ms []Manager) *team {
	t := &team{managers: ms, byID: map[string]*Manager{}, byTG: map[int64]string{}}
	for i := range t.managers {
		m := &t.managers[i]
		t.byID[m.ID] = m
		if m.TelegramID != 0 {
			t.byTG[m.TelegramID] = m.ID
		}
	}
	return t
}

// lead returns a configured manager (any role).
func (t *team) lead(managerID string) (*Manager, error) {
	m, ok := t.byID[managerID]
	if !ok {
		return nil, ErrUnknownManager
	}
	return m, nil
}

// onShift returns the lead-managers working at now, in config order: the candidates of an offer.
func (t *team) onShift(now time.Time) []candidate {
	var cs []candidate
	for i := range t.managers {
		m := &t.managers[i]
		if m.Role == RoleLead && m.OnShift(now) {
			cs = append(cs, candidate{ID: m.ID, Capacity: m.Capacity})
		}
	}
	return cs
}

// senders are the channels' senders, registered before Run.
type senders struct {
	mu sync.RWMutex
	m  map[string]channels.Sender
}

func (s *senders) set(channel string, snd channels.Sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]channels.Sender{}
	}
	s.m[channel] = snd
}

// get returns the channel's sender (nil: the channel cannot send).
func (s *senders) get(channel string) channels.Sender {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[channel]
}

// salesIDs are the sales managers' ids, in config order.
func (t *team) salesIDs() []string {
	var ids []string
	for _, m := range t.managers {
		if m.Role == RoleSales {
			ids = append(ids, m.ID)
		}
	}
	return ids
}
