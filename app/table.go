package app

import (
	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/calls"
	"github.com/lidorub/lidorub/channels/email"
	"github.com/lidorub/lidorub/channels/instagram"
	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/channels/viber"
	"github.com/lidorub/lidorub/channels/vk"
	"github.com/lidorub/lidorub/channels/webchat"
	"github.com/lidorub/lidorub/channels/webform"
	"github.com/lidorub/lidorub/channels/whatsapp"
	"github.com/lidorub/lidorub/channels/whatsappcloud"
	"github.com/lidorub/lidorub/config"
)

// table is every customer channel the gateway can run: its name, its config section and its
// constructor. Build makes the enabled ones; their names are the metrics' channel labels.
// Adding a channel is one line here (see "Adding a channel" in the README).
var table = []entry{
	row(webform.Name, func(c *config.Channels) *webform.Config { return &c.Form }, webform.New),
	row(instagram.Name, func(c *config.Channels) *instagram.Config { return &c.Instagram }, instagram.New),
	row(whatsappcloud.Name, func(c *config.Channels) *whatsappcloud.Config { return &c.WhatsAppCloud }, whatsappcloud.New),
	row(telegram.Name, func(c *config.Channels) *telegram.Config { return &c.Telegram }, telegram.New),
	row(whatsapp.Name, func(c *config.Channels) *whatsapp.Config { return &c.WhatsApp }, whatsapp.New),
	row(calls.Name, func(c *config.Channels) *calls.Config { return &c.Calls }, calls.New),
	row(email.Name, func(c *config.Channels) *email.Config { return &c.Email }, email.New),
	row(viber.Name, func(c *config.Channels) *viber.Config { return &c.Viber }, viber.New),
	row(vk.Name, func(c *config.Channels) *vk.Config { return &c.VK }, vk.New),
	row(webchat.Name, func(c *config.Channels) *webchat.Config { return &c.WebChat }, webchat.New),
}

// ChannelNames are the names of every channel in the table, in table order.
func ChannelNames() []string {
	names := make([]string, len(table))
	for i, e := range table {
		names[i] = e.name
	}
	return names
}

// entry is one row of the table.
type entry struct {
	name string
	// build returns the channel when its section enables it, else nil.
	build func(cfg *config.Channels, d channels.Deps) (channels.Channel, error)
	// section returns the channel's config section (a pointer), e.g. for the start-up summary.
	section func(cfg *config.Channels) any
}

// section is what row needs of a config section beyond config.Section.
type section[C any] interface {
	*C
	IsEnabled() bool
}

// row makes an entry from a channel's name, the field of its section in config.Channels and
// its New.
func row[C any, P section[C], T channels.Channel](name string, field func(*config.Channels) P,
	newChannel func(C, channels.Deps) (T, error)) entry {
	return entry{name: name, section: func(cfg *config.Channels) any { return field(cfg) },
		build: func(cfg *config.Channels, d channels.Deps) (channels.Channel, error) {
			c := field(cfg)
			if !c.IsEnabled() {
				return nil, nil
			}
			ch, err := newChannel(*c, d)
			if err != nil {
				return nil, err
			}
			return ch, nil
		}}
}
