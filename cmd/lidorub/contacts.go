package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/internal/conf"
	"github.com/lidorub/lidorub/router"
	"github.com/lidorub/lidorub/store"
)

const contactsUsage = `usage:
  lidorub [-c FILE] contacts export|erase --channel CH --contact ID --account ACCT [--redis URL]
  lidorub [-c FILE] contacts export|erase --phone +79161234567 [--redis URL]
  lidorub [-c FILE] contacts export|erase --email name@example.com [--redis URL]
      export: print everything stored about the person as JSON (conversations, transcripts,
      pre-chat answers, consent records, timeline); erase: erase it everywhere (as
      DELETE /api/v1/contacts does). Both are recorded on the audit stream as by cli:operator.
      --redis overrides redis.url (the gateway's Redis; embedded cannot be used here).
`

// runContacts runs `lidorub contacts export|erase ...`: the customer's rights from the
// command line, against the Redis of a running gateway.
func runContacts(cfgPath string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "export" && args[0] != "erase") {
		fmt.Fprint(stderr, contactsUsage)
		return 2
	}
	fs := flag.NewFlagSet("lidorub contacts "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var q router.ContactQuery
	fs.StringVar(&q.Channel, "channel", "", "channel of the contact (telegram, form, instagram, ...)")
	fs.StringVar(&q.ContactID, "contact", "", "the channel's contact id")
	fs.StringVar(&q.Account, "account", "", "the channel account (bot or page name; form: default)")
	fs.StringVar(&q.Phone, "phone", "", "phone number, international format")
	fs.StringVar(&q.Email, "email", "", "e-mail address")
	redisURL := fs.String("redis", "", "Redis URL (overrides redis.url and $REDIS_URL)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		fmt.Fprint(stderr, contactsUsage)
		return 2
	}
	byContact := q.Channel != "" || q.ContactID != "" || q.Account != ""
	n := 0
	for _, set := range []bool{byContact, q.Phone != "", q.Email != ""} {
		if set {
			n++
		}
	}
	if n != 1 || (byContact && (q.Channel == "" || q.ContactID == "" || q.Account == "")) {
		fmt.Fprintln(stderr, "give --channel, --contact and --account together, or --phone, or --email")
		fmt.Fprint(stderr, contactsUsage)
		return 2
	}
	cfg, src, err := loadConfig(cfgPath)
	if err != nil {
		printConfigErrors(stderr, src, err)
		return 1
	}
	if *redisURL != "" {
		cfg.Redis.URL = *redisURL
		if err := cfg.Redis.Validate(); err != nil {
			var errs conf.Errors
			errs.Merge("redis (from --redis)", err)
			printConfigErrors(stderr, "--redis", errs.Err())
			return 1
		}
	}
	if cfg.Redis.URL == store.Embedded {
		fmt.Fprintln(stderr, "contacts: redis.url is embedded (in memory): give the gateway's Redis with --redis URL or REDIS_URL")
		return 1
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, err := app.Build(ctx, cfg, log, clock.Real{})
	if err != nil {
		fmt.Fprintf(stderr, "contacts: %v\n", err)
		return 1
	}
	defer g.Close()
	if args[0] == "export" {
		x, err := g.Router.ExportContact(ctx, router.Operator, q)
		if err != nil {
			return contactsErr(stderr, err)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(x); err != nil {
			fmt.Fprintf(stderr, "contacts: %v\n", err)
			return 1
		}
		return 0
	}
	ids, err := g.Router.EraseContact(ctx, router.Operator, q)
	if err != nil {
		return contactsErr(stderr, err)
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	fmt.Fprintf(stdout, "erased %d conversation(s): %s\n", len(ids), strings.Join(s, ", "))
	return 0
}

func contactsErr(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "contacts: %v\n", err)
	if errors.Is(err, router.ErrNotFound) {
		return 3
	}
	return 1
}
