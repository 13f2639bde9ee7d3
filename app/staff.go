package app

import (
	"fmt"
	"log/slog"

	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/desk/staffbot"
)

// buildStaffBot wires the lead-managers' Telegram bot, a client of the router's Desk: it
// reads its updates through the Telegram channel (its own poller, or a customer bot it
// shares) and is one of the router's notifiers.
func (g *Gateway) buildStaffBot(clk clock.Clock, log *slog.Logger) error {
	tg, _ := g.Channels[telegram.Name].(*telegram.Channel)
	if tg == nil {
		return nil
	}
	cl := tg.StaffClient()
	if cl == nil {
		return nil
	}
	var shared []string
	if s := tg.StaffSharedBot(); s != "" {
		shared = []string{s}
	}
	sb, err := staffbot.New(staffbot.Config{
		SupervisorsChatID:  g.Config.Router.Escalation.TelegramChatID,
		EscalationManagers: g.Config.Router.Escalation.Managers,
		Managers:           g.Config.Managers,
		SharedAccounts:     shared,
		Sales:              g.Router.SalesConfig(),
	}, staffbot.Deps{Client: cl, Desk: g.Router, Redis: g.Conn.Client, Keys: g.Conn.Keys, Clock: clk,
		Log: log.With("channel", telegram.Name, "component", "staffbot"), Locale: g.Locale})
	if err != nil {
		g.closeChannels()
		return fmt.Errorf("channels.telegram.staff: %w", err)
	}
	tg.SetStaffHandler(sb)
	g.Router.AddNotifier(sb)
	g.runners = append(g.runners, sb) // sets the command menu
	return nil
}
