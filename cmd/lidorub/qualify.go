package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/qualify"
)

const qualifyUsage = `usage:
  lidorub qualify test [-c FILE] [flags] "message text"
      print the verdict for one message and the rules that decided it
  lidorub qualify test [-c FILE] [flags] --file messages.txt
      one message per line (empty lines and lines starting with # are skipped; - reads
      stdin): print a table of verdicts and how often each rule matched
flags:
`

// qualifyTest is the message context given on the command line.
type qualifyTest struct {
	in       channels.Inbound
	messages int
	at       time.Time
	loc      *time.Location
}

// runQualify runs `lidorub qualify test ...`.
func runQualify(cfgPath string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lidorub qualify test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, qualifyUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "test" {
		fs.Usage()
		return 2
	}
	fs.StringVar(&cfgPath, "c", cfgPath, "configuration file (default $LIDORUB_CONFIG, else ./config.yaml, else the embedded example)")
	file := fs.String("file", "", "a file of messages, one per line (- for stdin)")
	channel := fs.String("channel", "", "the channel the message came from (telegram, form, whatsapp, instagram, ...)")
	account := fs.String("account", "", "the channel account that received it")
	source := fs.String("source", "", "the source (deep-link payload, campaign, post id)")
	utm := map[string]*string{}
	for _, p := range []string{"source", "medium", "campaign", "term", "content"} {
		utm["utm_"+p] = fs.String("utm-"+p, "", "utm_"+p+" of the message")
	}
	phone := fs.String("phone", "", "the customer's phone number (for has_phone)")
	email := fs.String("email", "", "the customer's e-mail (for has_email)")
	messages := fs.Int("messages", 1, "the number of customer messages in the conversation, this one included")
	at := fs.String("at", "", `when the message arrived: "2006-01-02 15:04" in qualify.tz, or RFC 3339 (default: now)`)

	// Flags may come before or after the text: parse, take one word of text, parse on.
	var words []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if consumed := rest[:len(rest)-len(left)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			words = append(words, left...) // everything after -- is text
			break
		}
		words, rest = append(words, left[0]), left[1:]
	}
	if (*file == "") == (len(words) == 0) {
		fmt.Fprintln(stderr, "give either a message text or --file")
		fs.Usage()
		return 2
	}
	if *messages < 1 {
		fmt.Fprintln(stderr, "--messages must be at least 1")
		return 2
	}

	cfg, src, err := loadConfig(cfgPath)
	if err != nil {
		printConfigErrors(stderr, src, err)
		return 1
	}
	rules, err := qualify.NewRules(cfg.Qualify)
	if err != nil { // validated by loadConfig already
		printConfigErrors(stderr, src, err)
		return 1
	}
	t := qualifyTest{messages: *messages, in: channels.Inbound{Channel: *channel, Account: *account,
		Source: *source, Phone: *phone, Email: *email}}
	for k, v := range utm {
		if *v != "" {
			if t.in.Meta == nil {
				t.in.Meta = map[string]string{}
			}
			t.in.Meta[k] = *v
		}
	}
	if t.loc, err = time.LoadLocation(cfg.Qualify.TimeZone); err != nil {
		t.loc = time.UTC
	}
	t.at = time.Now().In(t.loc)
	if *at != "" {
		if t.at, err = parseAt(*at, t.loc); err != nil {
			fmt.Fprintf(stderr, "--at: %v\n", err)
			return 2
		}
	}

	if *file == "" {
		printVerdict(stdout, rules, t, strings.Join(words, " "))
		return 0
	}
	r := io.Reader(os.Stdin)
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			fmt.Fprintf(stderr, "--file: %v\n", err)
			return 1
		}
		defer f.Close()
		r = f
	}
	if err := printTable(stdout, rules, cfg.Qualify.Rules, t, r); err != nil {
		fmt.Fprintf(stderr, "--file %s: %v\n", *file, err)
		return 1
	}
	return 0
}

func parseAt(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf(`cannot parse %q: use "2006-01-02 15:04" (in qualify.tz) or RFC 3339`, s)
}

func (t qualifyTest) evaluate(q *qualify.Rules, text string) qualify.Result {
	in := t.in
	in.Text = text
	return q.Evaluate(qualify.Input{Inbound: in, Messages: t.messages, At: t.at})
}

// context describes the message's context in one line.
func (t qualifyTest) context() string {
	parts := []string{"channel " + orNone(t.in.Channel)}
	if t.in.Account != "" {
		parts = append(parts, "account "+t.in.Account)
	}
	if t.in.Source != "" {
		parts = append(parts, "source "+t.in.Source)
	}
	for _, k := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
		if v := t.in.Meta[k]; v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	if t.in.Phone != "" {
		parts = append(parts, "a phone")
	}
	if t.in.Email != "" {
		parts = append(parts, "an e-mail")
	}
	parts = append(parts, fmt.Sprintf("message %d", t.messages),
		t.at.Format("Mon 2006-01-02 15:04")+" "+t.loc.String())
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// decision says which rule decided the verdict, or why the default stands.
func decision(res qualify.Result) string {
	switch {
	case res.Explanation.DecidedBy != "":
		return "rule " + res.Explanation.DecidedBy
	case len(res.Explanation.Rules) == 0:
		return "no rule matched: default_priority"
	}
	return "default_priority (the matching rules set no priority)"
}

func printVerdict(w io.Writer, q *qualify.Rules, t qualifyTest, text string) {
	res := t.evaluate(q, text)
	fmt.Fprintf(w, "verdict:    %s\n", res.Verdict())
	fmt.Fprintf(w, "decided by: %s\n", decision(res))
	for i, l := range res.Explanation.Lines() {
		label := ""
		if i == 0 {
			label = "rules:"
		}
		fmt.Fprintf(w, "%-11s %s\n", label, l)
	}
	fmt.Fprintf(w, "context:    %s\n", t.context())
}

// maxTextWidth bounds the text column of the table.
const maxTextWidth = 60

func printTable(w io.Writer, q *qualify.Rules, rules []qualify.Rule, t qualifyTest, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tVERDICT\tTAGS\tDECIDED BY\tALSO MATCHED\tTEXT")
	matched := map[string]int{}
	decided := map[string]int{}
	var total, leads, none int
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		res := t.evaluate(q, text)
		total++
		if !res.Spam {
			leads++
		}
		if len(res.Explanation.Rules) == 0 {
			none++
		}
		verdict := fmt.Sprintf("priority %d", res.Priority)
		if res.Spam {
			verdict = "not a lead"
		}
		var also []string
		for _, m := range res.Explanation.Rules {
			matched[m.Rule]++
			if m.Rule != res.Explanation.DecidedBy {
				also = append(also, m.Rule)
			}
		}
		if res.Explanation.DecidedBy != "" {
			decided[res.Explanation.DecidedBy]++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", n, verdict, dash(strings.Join(res.Tags, ",")),
			dash(res.Explanation.DecidedBy), dash(strings.Join(also, ",")), clipText(text))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d messages: %d leads, %d not a lead, %d matched no rule\n", total, leads, total-leads, none)
	fmt.Fprintf(w, "context: %s\n\n", t.context())
	fmt.Fprintln(tw, "RULE\tMATCHED\tDECIDED")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", r.Name, matched[r.Name], decided[r.Name])
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clipText makes a message fit one table cell.
func clipText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxTextWidth {
		return s
	}
	r := []rune(s)
	return string(r[:maxTextWidth-1]) + "…"
}
