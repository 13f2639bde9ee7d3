package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/channels/whatsapp"
	"github.com/lidorub/lidorub/store"
)

const whatsappUsage = `usage:
  lidorub [-c FILE] whatsapp link [--account NAME] [--phone +4915112345678]
      link a WhatsApp number as a linked device: scan the QR code shown (Settings > Linked
      devices > Link a device), or with --phone enter the pairing code shown on that phone
  lidorub [-c FILE] whatsapp status
      list the accounts: configured, linked, connected (and by which gateway process)
`

// runWhatsApp runs `lidorub whatsapp ...`.
func runWhatsApp(cfgPath string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "link" && args[0] != "status") {
		fmt.Fprint(stderr, whatsappUsage)
		return 2
	}
	cfg, src, err := loadConfig(cfgPath)
	if err != nil {
		printConfigErrors(stderr, src, err)
		return 1
	}
	wcfg := cfg.Channels.WhatsApp
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch args[0] {
	case "link":
		fs := flag.NewFlagSet("lidorub whatsapp link", flag.ContinueOnError)
		fs.SetOutput(stderr)
		account := fs.String("account", "", "account name from channels.whatsapp.accounts (default: the only one)")
		phone := fs.String("phone", "", "link with a pairing code for this number (international format, e.g. +4915112345678) instead of a QR code")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			fmt.Fprint(stderr, whatsappUsage)
			return 2
		}
		name := *account
		if name == "" {
			if len(wcfg.Accounts) != 1 {
				fmt.Fprintf(stderr, "several WhatsApp accounts are configured: choose one with --account (%v)\n", wcfg.AccountNames())
				return 2
			}
			name = wcfg.Accounts[0].Name
		}
		if !wcfg.HasAccount(name) {
			fmt.Fprintf(stderr, "note: %q is not in channels.whatsapp.accounts; add it there so serve connects it\n", name)
		}
		if !wcfg.Enabled {
			fmt.Fprintln(stderr, "note: channels.whatsapp.enabled is false; serve connects linked accounts once it is true")
		}
		if err := whatsapp.RunLink(ctx, wcfg, name, *phone, stdout, log); err != nil {
			fmt.Fprintf(stderr, "whatsapp link: %v\n", err)
			return 1
		}
		return 0
	default: // status
		var rdb redis.UniversalClient
		keys := store.NewKeys(cfg.Redis.Prefix)
		if cfg.Redis.URL == store.Embedded {
			fmt.Fprintln(stderr, "note: redis.url is embedded, so this command cannot see what a running serve holds (CONNECTED: unknown)")
		} else if conn, err := store.Open(ctx, cfg.Redis, log); err != nil {
			fmt.Fprintf(stderr, "note: %v (CONNECTED: unknown)\n", err)
		} else {
			defer conn.Close()
			rdb, keys = conn.Client, conn.Keys
		}
		if err := whatsapp.RunStatus(ctx, wcfg, rdb, keys, stdout); err != nil {
			fmt.Fprintf(stderr, "whatsapp status: %v\n", err)
			return 1
		}
		return 0
	}
}
