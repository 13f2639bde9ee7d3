package email

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// textBuf builds the text of an HTML document; trimming is a re-slice, so no step copies
// what was written before.
type textBuf struct{ b []byte }

func (t *textBuf) trimSpace() { t.b = bytes.TrimRight(t.b, " ") }

// newlines ends the text with at least n line breaks (none at the start).
func (t *textBuf) newlines(n int) {
	if len(t.b) == 0 {
		return
	}
	t.trimSpace()
	have := len(t.b) - len(bytes.TrimRight(t.b, "\n"))
	for ; have < n; have++ {
		t.b = append(t.b, '\n')
	}
}

func (t *textBuf) lastIs(c byte) bool { return len(t.b) > 0 && t.b[len(t.b)-1] == c }

// htmlToText renders an HTML body as readable text: the text of the document without
// scripts, styles or comments; paragraphs, line breaks, list items and table rows on lines
// of their own; a link's address after its text when the two differ. Entities are decoded.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var t textBuf
	skip := 0 // inside <script>, <style>, <head>...
	href, linkStart := "", 0
	for tokens := 0; tokens < 200000; tokens++ {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(string(t.b))
		case html.TextToken:
			if skip > 0 {
				continue
			}
			raw := z.Raw()
			words := strings.Fields(string(z.Text()))
			if len(t.b) > 0 && !t.lastIs('\n') && !t.lastIs(' ') && len(raw) > 0 && isSpace(raw[0]) {
				t.b = append(t.b, ' ')
			}
			if len(words) == 0 {
				continue
			}
			t.b = append(t.b, strings.Join(words, " ")...)
			if isSpace(raw[len(raw)-1]) {
				t.b = append(t.b, ' ')
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			end := tt == html.EndTagToken
			switch atom.Lookup(name) {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
			case atom.Br:
				t.trimSpace()
				t.b = append(t.b, '\n')
			case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Blockquote, atom.Pre, atom.Table, atom.Ul, atom.Ol, atom.Hr:
				t.newlines(2)
			case atom.Li:
				t.newlines(1)
				if !end {
					t.b = append(t.b, "- "...)
				}
			case atom.Tr:
				t.newlines(1)
			case atom.Td, atom.Th:
				if !end && len(t.b) > 0 && !t.lastIs('\n') {
					t.trimSpace()
					t.b = append(t.b, " | "...)
				}
			case atom.A:
				if !end {
					href = ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = strings.TrimSpace(string(v))
						}
					}
					linkStart = len(t.b)
				} else if href != "" {
					text := strings.TrimSpace(string(t.b[min(linkStart, len(t.b)):]))
					addr := strings.TrimPrefix(href, "mailto:")
					if (strings.HasPrefix(href, "http") || strings.HasPrefix(href, "mailto:")) && text != addr && text != href {
						t.trimSpace()
						t.b = append(t.b, " ("+addr+")"...)
					}
					href = ""
				}
			}
		}
	}
	return strings.TrimSpace(string(t.b))
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' }
