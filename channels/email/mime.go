package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"

	"github.com/lidorub/lidorub/channels"
)

// Limits of the MIME walk: a hostile message must not make the parser work without bound.
const (
	maxParts    = 100 // MIME parts looked at
	maxDepth    = 8   // nesting of multiparts
	maxTextRead = 1 << 20
	maxRefs     = 20 // message ids kept of References
)

// Mail is what the gateway takes from one e-mail message.
type Mail struct {
	MessageID   string   // Message-ID without <>, or "h:<sha256 of the header>" when it has none
	InReplyTo   []string // without <>
	References  []string // without <>, oldest first (at most maxRefs, the newest kept)
	Subject     string   // RFC 2047 decoded
	From        *mail.Address
	ReplyTo     *mail.Address // nil when absent
	Date        time.Time     // zero when absent or malformed
	Text        string        // the readable text: text/plain preferred, else HTML as text
	HTML        bool          // Text came from HTML
	Attachments []channels.Attachment
	// Auto is why the message is an automatic one (an auto-reply, a bounce, a list
	// mailing): never a lead, never answered. "" for a person's message.
	Auto string
	// Truncated: the text was longer than the limit and was cut.
	Truncated bool
	// QuoteStripped: the quoted earlier message at the end of a reply was left out.
	QuoteStripped bool
}

// ParseOptions bound the parse.
type ParseOptions struct {
	MaxTextChars int // text is cut to this many characters (0: 10000)
}

// ParseMail reads one RFC 5322 message. It fails only when the header cannot be read; a
// broken body yields what could be read of it.
func ParseMail(raw []byte, opt ParseOptions) (*Mail, error) {
	if opt.MaxTextChars <= 0 {
		opt.MaxTextChars = 10000
	}
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: 256 << 10})
	if err != nil && e == nil {
		return nil, fmt.Errorf("read message header: %w", err)
	}
	h := e.Header
	m := &Mail{}
	m.MessageID = msgID(h.Get("Message-Id"))
	if m.MessageID == "" {
		m.MessageID = "h:" + headerHash(raw)
	}
	m.InReplyTo = msgIDList(h.Get("In-Reply-To"))
	m.References = msgIDList(h.Get("References"))
	if len(m.References) > maxRefs {
		m.References = m.References[len(m.References)-maxRefs:]
	}
	m.Subject = decodeHeader(h.Get("Subject"))
	m.From = firstAddress(h.Get("From"))
	m.ReplyTo = firstAddress(h.Get("Reply-To"))
	if d, err := mail.ParseDate(h.Get("Date")); err == nil {
		m.Date = d
	}
	m.Auto = autoReason(h, m.From)

	w := walker{opt: opt}
	w.walk(e, err, 0)
	if w.report && m.Auto == "" {
		m.Auto = "delivery report (multipart/report)"
	}
	text := w.plain
	if strings.TrimSpace(text) == "" && w.html != "" {
		text, m.HTML = htmlToText(w.html), true
	}
	text = cleanText(text)
	if t, ok := stripQuoted(text); ok {
		text, m.QuoteStripped = t, true
	}
	if n := utf8.RuneCountInString(text); n > opt.MaxTextChars {
		r := []rune(text)
		text, m.Truncated = strings.TrimSpace(string(r[:opt.MaxTextChars]))+"…", true
	}
	m.Text = text
	m.Attachments = w.atts
	return m, nil
}

// walker collects the text and the attachments of a MIME tree.
type walker struct {
	opt    ParseOptions
	parts  int
	plain  string // text/plain parts, joined
	html   string // the first text/html part
	atts   []channels.Attachment
	report bool
}

func (w *walker) walk(e *message.Entity, eerr error, depth int) {
	w.parts++
	if w.parts > maxParts || depth > maxDepth {
		return
	}
	mt, params, _ := e.Header.ContentType()
	if mt == "" {
		mt = "text/plain"
	}
	if mr := e.MultipartReader(); mr != nil {
		if mt == "multipart/report" {
			w.report = true
		}
		if mt == "multipart/alternative" {
			w.alternative(mr, depth)
			return
		}
		for {
			p, err := mr.NextPart()
			if p == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
				return
			}
			w.walk(p, err, depth+1)
			if w.parts > maxParts {
				return
			}
		}
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	name := decodeHeader(dparams["filename"])
	if name == "" {
		name = decodeHeader(params["name"])
	}
	isText := (mt == "text/plain" || mt == "text/html") && disp != "attachment" && name == ""
	if !isText {
		n, _ := io.Copy(io.Discard, io.LimitReader(e.Body, 64<<20))
		w.atts = append(w.atts, channels.Attachment{Kind: kindOf(mt), MIME: mt, Size: n, Name: clip(name, 200)})
		return
	}
	body := readText(e, params["charset"], eerr)
	if mt == "text/html" {
		if w.html == "" {
			w.html = body
		}
		return
	}
	if strings.TrimSpace(body) != "" {
		if w.plain != "" {
			w.plain += "\n\n"
		}
		w.plain += body
	}
}

// alternative takes one representation of multipart/alternative: the text/plain one when
// there is one, else the HTML one (each may itself be a multipart, e.g. related).
func (w *walker) alternative(mr message.MultipartReader, depth int) {
	var best *walker
	for {
		p, err := mr.NextPart()
		if p == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
			break
		}
		sub := &walker{opt: w.opt, parts: w.parts}
		sub.walk(p, err, depth+1)
		w.parts = sub.parts
		switch {
		case best == nil:
			best = sub
		case strings.TrimSpace(best.plain) == "" && strings.TrimSpace(sub.plain) != "":
			best = sub
		case strings.TrimSpace(best.plain) == "" && best.html == "" && sub.html != "":
			best = sub
		}
		if w.parts > maxParts {
			break
		}
	}
	if best == nil {
		return
	}
	if best.plain != "" {
		if w.plain != "" {
			w.plain += "\n\n"
		}
		w.plain += best.plain
	} else if w.html == "" {
		w.html = best.html
	}
	w.atts = append(w.atts, best.atts...)
	w.report = w.report || best.report
}

// readText reads a text part as UTF-8. go-message has already undone the transfer encoding;
// a charset it could not convert (no converter is registered globally) is converted here.
func readText(e *message.Entity, cs string, eerr error) string {
	b, _ := io.ReadAll(io.LimitReader(e.Body, maxTextRead))
	if message.IsUnknownCharset(eerr) {
		if s, ok := decodeCharset(cs, b); ok {
			return s
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// charsetReader converts from a named charset (windows-1251, koi8-r, ...) to UTF-8.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	label = strings.ToLower(strings.TrimSpace(label))
	switch label {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return r, nil
	}
	enc, err := ianaindex.MIME.Encoding(label)
	if enc == nil || err != nil {
		enc, err = htmlindex.Get(label)
	}
	if err != nil || enc == nil {
		return nil, fmt.Errorf("unsupported charset %q", clip(label, 40))
	}
	return enc.NewDecoder().Reader(r), nil
}

func decodeCharset(label string, b []byte) (string, bool) {
	r, err := charsetReader(label, bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "", false
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), true
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// decodeHeader decodes RFC 2047 encoded words (any charset x/text knows); on failure the
// raw value, made valid UTF-8.
func decodeHeader(s string) string {
	if s == "" {
		return ""
	}
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		s = d
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.Fields(s), " ")
}

func firstAddress(v string) *mail.Address {
	if v == "" {
		return nil
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	l, err := p.ParseList(v)
	if err != nil || len(l) == 0 {
		// a lone bare address that net/mail rejects (e.g. a trailing comment) is still taken
		a, err := p.Parse(strings.TrimSpace(v))
		if err != nil {
			return nil
		}
		l = []*mail.Address{a}
	}
	a := l[0]
	a.Address = strings.ToLower(a.Address)
	a.Name = strings.ToValidUTF8(a.Name, "\uFFFD")
	return a
}

// msgID takes the first <id> of a header value (bare ids are accepted too).
func msgID(v string) string {
	l := msgIDList(v)
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// msgIDList splits a Message-ID / In-Reply-To / References value into ids without <>.
func msgIDList(v string) []string {
	var out []string
	for len(out) < 200 {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := cleanID(v[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
	if len(out) == 0 {
		if id := cleanID(v); id != "" && !strings.ContainsAny(id, " \t") && strings.Contains(id, "@") {
			out = append(out, id)
		}
	}
	return out
}

// cleanID trims an id and keeps it printable ASCII and of a sane length (a longer one is
// replaced by its hash, so it still works as a key).
func cleanID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			s = strings.Map(func(r rune) rune {
				if r <= ' ' || r > '~' {
					return -1
				}
				return r
			}, s)
			break
		}
	}
	if len(s) > 250 {
		sum := sha256.Sum256([]byte(s))
		return "h:" + hex.EncodeToString(sum[:])
	}
	return s
}

// headerHash is the dedupe key of a message without a Message-ID: the hash of its header
// block (the same stored message always has the same header).
func headerHash(raw []byte) string {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if e2 := bytes.Index(raw, []byte("\n\n")); end < 0 || (e2 >= 0 && e2 < end) {
		end = e2
	}
	if end < 0 {
		end = len(raw)
	}
	sum := sha256.Sum256(raw[:end])
	return hex.EncodeToString(sum[:])
}

// autoReason tells why a message is automatic (RFC 3834 and the usual vendor headers), or "".
func autoReason(h message.Header, from *mail.Address) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + clip(v, 40)
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "auto_reply", "junk", "list":
		return "Precedence: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Failed-Recipients"} {
		if h.Has(k) {
			return k
		}
	}
	if mt, _, _ := h.ContentType(); mt == "multipart/report" || mt == "message/delivery-status" {
		return "delivery report (" + mt + ")"
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp == "<>" {
		return "empty Return-Path (a bounce)"
	}
	if from != nil {
		local, _, _ := strings.Cut(from.Address, "@")
		switch strings.ToLower(local) {
		case "mailer-daemon", "postmaster":
			return "sent by " + strings.ToLower(local)
		}
	}
	return ""
}

// kindOf maps a MIME type to an attachment kind.
func kindOf(mt string) string {
	switch {
	case strings.HasPrefix(mt, "image/"):
		return "image"
	case strings.HasPrefix(mt, "audio/"):
		return "audio"
	case strings.HasPrefix(mt, "video/"):
		return "video"
	case mt == "message/rfc822":
		return "message"
	}
	return "document"
}

// cleanText normalises line ends, drops trailing spaces and runs of blank lines.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), maxTextRead+1)
	blank := 0
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\u00a0")
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return strings.Map(func(r rune) rune {
		if r == 0 || (r < ' ' && r != '\n' && r != '\t') {
			return -1
		}
		return r
	}, b.String())
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// errNoSender: a message whose From cannot be read cannot become a lead (nobody to answer).
var errNoSender = errors.New("no readable From address")

// attributions end the line that introduces a quoted message ("On Mon, Ivan wrote:").
var attributions = []string{"wrote:", "writes:", "написал:", "написала:", "написал(а):", "пишет:", "schrieb:"}

func isAttribution(line string) bool {
	l := strings.ToLower(strings.TrimSpace(line))
	if strings.HasSuffix(l, ">:") {
		return true
	}
	for _, a := range attributions {
		if strings.HasSuffix(l, a) {
			return true
		}
	}
	return false
}

// stripQuoted removes the quoted earlier message at the end of a reply: the trailing lines
// that start with ">" and the attribution line just above them. Nothing is removed when it
// would leave no text, or when quoted lines are followed by the customer's own lines
// (an inline answer).
func stripQuoted(s string) (string, bool) {
	lines := strings.Split(s, "\n")
	end := len(lines)
	i := end
	quoted := 0
	for i > 0 {
		l := strings.TrimSpace(lines[i-1])
		if l == "" || strings.HasPrefix(l, ">") {
			if l != "" {
				quoted++
			}
			i--
			continue
		}
		break
	}
	if quoted == 0 {
		return s, false
	}
	// the attribution: up to two lines ending in "wrote:" or in "<address>:" (Gmail)
	for n := 0; n < 2 && i > 0 && isAttribution(lines[i-1]); n++ {
		i--
	}
	out := strings.TrimSpace(strings.Join(lines[:i], "\n"))
	if out == "" {
		return s, false
	}
	return out, true
}
