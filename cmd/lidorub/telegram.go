package main

import (
	"fmt"
	"log/slog"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/telegram"
	"github.com/lidorub/lidorub/channels/telegram/staffbot"
	"github.com/lidorub/lidorub/clock"
)

// buildTelegram wires the Telegram channel (customer bots) and the staff bot: webhooks on the
// mux, the sender and the notifier on the router, the polling loops as a runner.
func (g *gateway) buildTelegram(clk clock.Clock, log *slog.Logger) error {
	cfg := g.cfg.Channels.Telegram
	if !cfg.Enabled {
		return nil
	}
	log = log.With("channel", channels.Telegram)
	tg, err := telegram.New(cfg, telegram.Deps{Ingester: g.ingest, Redis: g.conn.Client, Keys: g.conn.Keys, Clock: clk,
		Log: log, Registerer: g.reg, Alerter: g.router})
	if err != nil {
		return fmt.Errorf("channels.telegram: %w", err)
	}
	tg.RegisterWebhooks(g.mux)
	if len(cfg.Bots) > 0 {
		g.router.RegisterSender(channels.Telegram, tg)
	}
	if cl := tg.StaffClient(); cl != nil {
		var shared []string
		if s := tg.StaffSharedBot(); s != "" {
			shared = []string{s}
		}
		sb, err := staffbot.New(staffbot.Config{
			SupervisorsChatID:  g.cfg.Router.Escalation.TelegramChatID,
			EscalationManagers: g.cfg.Router.Escalation.Managers,
			Managers:           g.cfg.Managers,
			SharedAccounts:     shared,
		}, staffbot.Deps{Client: cl, Desk: g.router, Redis: g.conn.Client, Keys: g.conn.Keys, Clock: clk,
			Log: log.With("component", "staffbot")})
		if err != nil {
			return fmt.Errorf("channels.telegram.staff: %w", err)
		}
		tg.SetStaffHandler(sb)
		g.router.AddNotifier(sb)
	}
	g.runners = append(g.runners, tg)
	return nil
}
