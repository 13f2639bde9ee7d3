// Command lidorub is the lead gateway.
//
// -c FILE may stand before or after the subcommand (lidorub config check -c FILE).
//
//	lidorub [-c FILE] [serve]      run the gateway (the default)
//	lidorub [-c FILE] config check validate the configuration, print every error, exit 1 if any
//	lidorub version                print the version
//	lidorub [-c FILE] whatsapp link [--account NAME] [--phone +...]   link a WhatsApp number
//	lidorub [-c FILE] whatsapp status                                 list WhatsApp accounts
//	lidorub [-c FILE] report funnel [--from T] [--to T] [--by GROUP] [--format table|csv|json] [--redis URL]
//	                               the funnel report (see lidorub report funnel -h)
//	lidorub [-c FILE] contacts export|erase --channel CH --contact ID --account A | --phone P | --email E [--redis URL]
//	                               a person's data: print it as JSON, or erase it everywhere
//	lidorub bench [flags]          benchmark an in-process (or running, loopback) gateway; see -h
//	lidorub [-c FILE] audit verify [--redis URL] [--from T] [--to T] [--json]   verify the fairness ledger
//
// The configuration is FILE, else $LIDORUB_CONFIG, else ./config.yaml, else the embedded
// example (embedded in-memory Redis). $REDIS_URL, when set, overrides redis.url.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // shifts name IANA zones; the static image has no zoneinfo

	lidorub "github.com/lidorub/lidorub"
	"github.com/lidorub/lidorub/app"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/conf"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lidorub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "configuration file (default $LIDORUB_CONFIG, else ./config.yaml, else the embedded example)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lidorub [-c FILE] [serve | config check | whatsapp link|status | version]\n")
		fmt.Fprintf(stderr, "       lidorub [-c FILE] contacts export|erase   (a person's data; lidorub contacts)\n")
		fmt.Fprintf(stderr, "       lidorub bench [flags]   (benchmark; lidorub bench -h)\n")
		fmt.Fprintf(stderr, "       lidorub report funnel [flags]   (the funnel report; lidorub report funnel -h)\n")
		fmt.Fprintf(stderr, "       lidorub [-c FILE] audit verify [--redis URL] [--from T] [--to T] [--json]   (fairness ledger)\n")
		fs.PrintDefaults()
	}
	// -c FILE is accepted anywhere before a "--": `lidorub config check -c FILE` as well as
	// `lidorub -c FILE config check` (bench has flags of its own and no -c).
	args, err := hoistGlobalFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "lidorub: %v\n", err)
		fs.Usage()
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	cmd := "serve"
	if len(rest) > 0 {
		cmd = rest[0]
	}
	switch {
	case cmd == "whatsapp":
		return runWhatsApp(*cfgPath, rest[1:], stdout, stderr)
	case cmd == "qualify":
		return runQualify(*cfgPath, rest[1:], stdout, stderr)
	case cmd == "audit":
		return runAudit(*cfgPath, rest[1:], stdout, stderr)
	case cmd == "bench":
		return runBench(rest[1:], stdout, stderr)
	case cmd == "report":
		return runReport(*cfgPath, rest[1:], stdout, stderr, time.Now)
	case cmd == "simulate":
		return runSimulate(*cfgPath, rest[1:], stdout, stderr)
	case cmd == "contacts":
		return runContacts(*cfgPath, rest[1:], stdout, stderr)
	case cmd == "version":
		fmt.Fprintln(stdout, "lidorub", buildVersion())
		return 0
	case cmd == "config" && len(rest) == 2 && rest[1] == "check":
		cfg, src, err := loadConfig(*cfgPath)
		if err != nil {
			printConfigErrors(stderr, src, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: OK (%d managers, router strategy %s, redis %s)\n", src, len(cfg.Managers), cfg.Router.Strategy, redisKind(cfg.Redis.URL))
		return 0
	case cmd == "serve" && len(rest) <= 1:
		cfg, src, err := loadConfig(*cfgPath)
		if err != nil {
			printConfigErrors(stderr, src, err)
			return 1
		}
		log := newLogger(cfg, stderr)
		log.Info("starting lidorub", "version", buildVersion(), "config", src, "instance", cfg.InstanceID)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := app.Serve(ctx, cfg, log); err != nil {
			log.Error("lidorub stopped with an error", "err", err)
			return 1
		}
		return 0
	}
	fs.Usage()
	return 2
}

// hoistGlobalFlags moves the global flag -c (also --c, -c=FILE, --c=FILE, --config) from
// after the subcommand to the front, so the flag set parses it wherever it stands. Arguments
// after "--" are left alone; so are the arguments of bench, which parses flags of its own.
func hoistGlobalFlags(args []string) ([]string, error) {
	var global, rest []string
	sub := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if sub == "bench" {
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "c" || name == "config") {
			if !hasValue {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag needs an argument: %s", a)
				}
				i++
				value = args[i]
			}
			global = append(global, "-c", value)
			continue
		}
		if sub == "" && !strings.HasPrefix(a, "-") {
			sub = a
		}
		rest = append(rest, a)
	}
	return append(global, rest...), nil
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

func redisKind(url string) string {
	if url == "embedded" {
		return "embedded (in memory)"
	}
	return "external"
}

// loadConfig finds and loads the configuration; src names where it came from.
func loadConfig(path string) (*config.Config, string, error) {
	if path == "" {
		path = os.Getenv("LIDORUB_CONFIG")
	}
	var cfg *config.Config
	var err error
	src := path
	switch {
	case path != "":
		cfg, err = config.Load(path)
	default:
		if _, statErr := os.Stat("config.yaml"); statErr == nil {
			src = "config.yaml"
			cfg, err = config.Load(src)
		} else {
			src = "embedded example config"
			cfg, err = config.Parse(lidorub.DefaultConfig, os.LookupEnv)
		}
	}
	if err != nil {
		return nil, src, err
	}
	if u := os.Getenv("REDIS_URL"); u != "" {
		cfg.Redis.URL = u
		if err := cfg.Redis.Validate(); err != nil {
			var errs conf.Errors
			errs.Merge("redis (from REDIS_URL)", err)
			return nil, src, errs.Err()
		}
	}
	return cfg, src, nil
}

func printConfigErrors(w io.Writer, src string, err error) {
	list := conf.Flatten(err)
	fmt.Fprintf(w, "%s: %d configuration error(s):\n", src, len(list))
	for _, e := range list {
		fmt.Fprintf(w, "  %v\n", e)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		fmt.Fprintf(w, "  (give the file with -c FILE or LIDORUB_CONFIG)\n")
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
