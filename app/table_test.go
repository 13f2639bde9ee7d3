package app

import (
	"slices"
	"testing"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/config"
)

// Every row of the channel table has its section under channels: (keyed by the channel's
// name) and every section has its row: the table, the config and the metric labels agree.
func TestTableMatchesConfigSections(t *testing.T) {
	var keys []string
	for _, s := range (&config.Channels{}).Sections() {
		keys = append(keys, s.Key)
	}
	names := ChannelNames()
	if !slices.Equal(slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(names))) {
		t.Fatalf("config sections %v, channel table %v", keys, names)
	}
	// A disabled section builds nothing.
	var cfg config.Config
	cfg.Defaults()
	f := false
	cfg.Channels.Form.Enabled = &f
	for _, e := range table {
		if ch, err := e.build(&cfg.Channels, channels.Deps{}); err != nil || ch != nil {
			t.Errorf("%s: disabled section built %v, %v", e.name, ch, err)
		}
	}
}
