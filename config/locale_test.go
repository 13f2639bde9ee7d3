package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/channels/instagram"
	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/channels/viber"
	"github.com/lidorub/lidorub/channels/vk"
	"github.com/lidorub/lidorub/channels/whatsapp"
	"github.com/lidorub/lidorub/channels/whatsappcloud"
)

// TestChannelLocales: the language of each channel account's customers, keyed as the router
// looks it up ("channel/account"); accounts without one are left to locale.default.
func TestChannelLocales(t *testing.T) {
	c := Channels{
		Telegram:      telegram.Config{Bots: []telegram.BotConfig{{Name: "shop", Locale: "ru"}, {Name: "intl", Locale: "en"}, {Name: "plain"}}},
		Instagram:     instagram.Config{Accounts: []instagram.Account{{ID: "17841400000000000", Locale: "en"}}},
		WhatsAppCloud: whatsappcloud.Config{Accounts: []whatsappcloud.Account{{PhoneNumberID: "106540352242922", Locale: "ru"}}},
		WhatsApp:      whatsapp.Config{Accounts: []whatsapp.AccountConfig{{Name: "sales", Locale: "en"}}},
		Viber:         viber.Config{Bots: []viber.Bot{{Name: "vb", Locale: "ru"}}},
		VK:            vk.Config{Communities: []vk.Community{{Name: "club", Locale: "en"}}},
	}
	c.Form.Account, c.Form.Locale = "landing", "en"
	want := map[string]string{
		"telegram/shop": "ru", "telegram/intl": "en", "instagram/17841400000000000": "en",
		"whatsappcloud/106540352242922": "ru", "whatsapp/sales": "en", "form/landing": "en",
		"viber/vb": "ru", "vk/club": "en",
	}
	if diff := cmp.Diff(want, c.Locales()); diff != "" {
		t.Errorf("locales (-want +got):\n%s", diff)
	}
}

// TestChannelLocaleIsChecked: an account's locale must be a supported language, reported at
// its YAML path.
func TestChannelLocaleIsChecked(t *testing.T) {
	c := Config{}
	c.Defaults()
	c.Channels.Telegram = telegram.Config{Enabled: true, Bots: []telegram.BotConfig{{Name: "shop", Token: "123:abc", Locale: "de"}}}
	c.Channels.Telegram.Defaults()
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `channels.telegram.bots[0].locale: must be one of en, ru (got "de")`) {
		t.Fatalf("err = %v", err)
	}
}
