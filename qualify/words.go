package qualify

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
)

// maxGap is how many other words may stand between two consecutive words of a phrase:
// "сколько стоит" matches "сколько у вас стоит".
const maxGap = 2

// maxWords is how many words of a message words are looked for in (keywords and regex
// see the whole text): intent is in the first sentences, and stemming costs microseconds
// per word.
const maxWords = 1000

// maxCachedStems bounds the stem cache of one Rules (about 100 bytes an entry).
const maxCachedStems = 100_000

// token is one word of a message.
type token struct {
	start, end int    // byte offsets in the original text
	norm       string // lower case, ё as е
	stem       string
}

// tokenize splits text into at most limit words: runs of letters and digits; anything
// else separates words ("интернет-магазин" is two words, as is "what's").
func tokenize(text string, limit int) []token {
	var out []token
	start := -1
	for i, c := range text {
		if len(out) == limit {
			return out
		}
		word := unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.Is(unicode.Mn, c)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			out = append(out, newToken(text, start, i))
			start = -1
		}
	}
	if start >= 0 && len(out) != limit {
		out = append(out, newToken(text, start, len(text)))
	}
	return out
}

func newToken(text string, start, end int) token {
	return token{start: start, end: end, norm: normalize(text[start:end])}
}

// normalize lower-cases a word and writes ё as е (the Russian stemmer does not know ё, and
// most people type е anyway).
func normalize(w string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(w), "ё", "е"), "\u0308", "")
}

// stem returns the Snowball stem of a normalized word: Russian for a word with Cyrillic
// letters, English for one with Latin letters, the word itself otherwise (numbers, other
// scripts). Stop words are stemmed too, so a keyword and the text are always treated alike.
func stem(norm string) string {
	latin := false
	for _, c := range norm {
		if unicode.Is(unicode.Cyrillic, c) {
			return russian.Stem(norm, true)
		}
		if c < unicode.MaxASCII && unicode.IsLetter(c) {
			latin = true
		}
	}
	if latin {
		return english.Stem(norm, true)
	}
	return norm
}

// stemCache remembers the stems of the words seen (people write with a small vocabulary),
// up to maxCachedStems words; it is safe for concurrent use.
type stemCache struct {
	m sync.Map // normalized word → stem
	n atomic.Int64
}

func (c *stemCache) stem(norm string) string {
	if v, ok := c.m.Load(norm); ok {
		return v.(string)
	}
	s := stem(norm)
	if c.n.Load() < maxCachedStems {
		// Clones: norm may share memory with the whole message text.
		if _, loaded := c.m.LoadOrStore(strings.Clone(norm), strings.Clone(s)); !loaded {
			c.n.Add(1)
		}
	}
	return s
}

// term is one word of a phrase: a stem, or a prefix (written with a trailing *).
type term struct {
	stem   string
	prefix string
}

func (t term) matches(tok *token) bool {
	if t.prefix != "" {
		return strings.HasPrefix(tok.norm, t.prefix)
	}
	return tok.stem == t.stem
}

// phrase is a compiled entry of Rule.Words.
type phrase struct {
	text  string // as configured
	terms []term
}

func parsePhrase(s string) (phrase, error) {
	ph := phrase{text: strings.TrimSpace(s)}
	if ph.text == "" {
		return ph, errors.New("must not be empty")
	}
	// A * counts as part of the word it ends; anywhere else it is an error.
	fields := strings.FieldsFunc(ph.text, func(c rune) bool {
		return !(unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.Is(unicode.Mn, c) || c == '*')
	})
	for _, f := range fields {
		base, star := strings.CutSuffix(f, "*")
		if strings.Contains(base, "*") {
			return ph, errors.New("* may only end a word (\"доставк*\")")
		}
		// "a-b" inside a field cannot happen (FieldsFunc split it), but a lone "*" can.
		if base == "" {
			return ph, errors.New("* must follow the beginning of a word (\"доставк*\")")
		}
		for _, tok := range tokenize(base, -1) {
			if star {
				ph.terms = append(ph.terms, term{prefix: tok.norm})
			} else {
				ph.terms = append(ph.terms, term{stem: stem(tok.norm)})
			}
		}
	}
	if len(ph.terms) == 0 {
		return ph, errors.New("has no letters or digits")
	}
	return ph, nil
}

// find returns the tokens [i, j] the phrase spans in toks, ok false when absent.
func (ph *phrase) find(toks []token) (i, j int, ok bool) {
	for i := range toks {
		if !ph.terms[0].matches(&toks[i]) {
			continue
		}
		if j, ok := ph.rest(toks, 1, i); ok {
			return i, j, true
		}
	}
	return 0, 0, false
}

// rest matches terms[k:] after the token at prev, each within maxGap words of the previous
// one, trying every admissible position (phrases are short).
func (ph *phrase) rest(toks []token, k, prev int) (int, bool) {
	if k == len(ph.terms) {
		return prev, true
	}
	for p := prev + 1; p < len(toks) && p <= prev+1+maxGap; p++ {
		if ph.terms[k].matches(&toks[p]) {
			if j, ok := ph.rest(toks, k+1, p); ok {
				return j, true
			}
		}
	}
	return 0, false
}
