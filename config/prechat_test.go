package config

import (
	"strings"
	"testing"
)

// router.prechat.channels names channels: sections (any channel the bot writes on).
func TestPreChatChannelsAreChannels(t *testing.T) {
	for _, tc := range []struct {
		channels string
		want     string // "" = valid
	}{
		{"[telegram, whatsappcloud, viber, vk]", ""},
		{"[fax]", `router.prechat.channels[0]: must be one of `},
		{"[form]", "router.prechat.channels[0]: the web form cannot write to the customer"},
	} {
		_, err := Parse([]byte("router:\n  prechat:\n    channels: "+tc.channels+"\n"), nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.channels, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %s", tc.channels, err, tc.want)
		}
	}
}
