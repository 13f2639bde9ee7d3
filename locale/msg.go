package locale

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Msg is a text to be rendered later in the reader's language: a channel's delivery-failure
// note is made where the error happens but read by a manager (in their language) and by a
// supervisor (in theirs). It is JSON-encodable, so it travels in Redis events.
type Msg struct {
	Key  string            `json:"key"`
	Args map[string]string `json:"args,omitempty"`
}

// M builds a Msg from name/value pairs. A plural text takes its number from "n". Values are
// kept as text (fmt.Sprint), except a time.Duration and a Msg, which are kept as such and
// rendered in the reader's language:
//
//	locale.M("failure.wacloud.no_template", "since", locale.M("failure.wacloud.since", "ago", age))
func M(key string, args ...any) Msg {
	m := Msg{Key: key}
	for k, v := range pairs(args) {
		if m.Args == nil {
			m.Args = map[string]string{}
		}
		switch x := v.(type) {
		case time.Duration:
			m.Args[k] = nestMark + "d" + strconv.FormatInt(int64(x), 10)
		case Msg:
			m.Args[k] = nestMark + "m" + x.Encode()
		default:
			m.Args[k] = strings.ReplaceAll(fmt.Sprint(v), nestMark, "")
		}
	}
	return m
}

// nestMark starts an argument of a Msg that is a duration or a Msg, not text. Text
// arguments never contain it (M removes it).
const nestMark = "\x1e"

func nestedDuration(s string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(s, nestMark+"d")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return time.Duration(n), err == nil
}

func nestedMsg(s string) (Msg, bool) {
	rest, ok := strings.CutPrefix(s, nestMark+"m")
	if !ok {
		return Msg{}, false
	}
	return Decode(rest)
}

// Render renders m in lang.
func (c *Catalogue) Render(lang string, m Msg) string { return c.render(lang, m, 0) }

func (c *Catalogue) render(lang string, m Msg, depth int) string {
	vals := make(map[string]any, len(m.Args))
	for k, v := range m.Args {
		if d, ok := nestedDuration(v); ok {
			vals[k] = d
		} else if n, ok := nestedMsg(v); ok {
			vals[k] = n
		} else {
			vals[k] = v
		}
	}
	return c.t(lang, m.Key, vals, depth)
}

// String renders m in English with the built-in texts (for logs and API fields).
func (m Msg) String() string {
	c, err := english()
	if err != nil {
		return m.Key
	}
	return c.Render(EN, m)
}

// Encode returns m as JSON (for a Redis field or an event reason).
func (m Msg) Encode() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// Decode reads a Msg made by Encode. ok is false for anything else (e.g. a plain English
// reason from before the catalogue, which the caller shows as it is).
func Decode(s string) (m Msg, ok bool) {
	if !strings.HasPrefix(s, `{"key":`) {
		return Msg{}, false
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil || m.Key == "" {
		return Msg{}, false
	}
	return m, true
}

// english is the built-in catalogue, parsed once (it is immutable).
var english = sync.OnceValues(func() (*Catalogue, error) { return builtin() })

// Error is an error a person reads: its text is a catalogue Msg. Error() is the English text
// (logs, API); whoever shows it to a manager finds it with errors.As and renders Msg in the
// manager's language. Err, if set, is the cause (kept for errors.Is/As, not shown).
type Error struct {
	Msg Msg
	Err error
}

// Errorf returns an *Error for key with name/value pairs.
func Errorf(key string, args ...any) *Error { return &Error{Msg: M(key, args...)} }

// Wrap returns an *Error for key that unwraps to err.
func Wrap(err error, key string, args ...any) *Error { return &Error{Msg: M(key, args...), Err: err} }

func (e *Error) Error() string { return e.Msg.String() }

func (e *Error) Unwrap() error { return e.Err }

// English returns s in English: an encoded Msg (Encode) rendered with the built-in texts,
// anything else as it is. For logs and tests of texts that travel encoded.
func English(s string) string {
	if m, ok := Decode(s); ok {
		return m.String()
	}
	return s
}
