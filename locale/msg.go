package locale

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Msg is a text to be rendered later in the reader's language: a channel's delivery-failure
// note is made where the error happens but read by a manager (in their language) and by a
// supervisor (in theirs). It is JSON-encodable, so it travels in Redis events.
type Msg struct {
	Key  string            `json:"key"`
	Args map[string]string `json:"args,omitempty"`
}

// M builds a Msg from name/value pairs (values are formatted with fmt.Sprint; a plural text
// takes its number from "n").
func M(key string, args ...any) Msg {
	m := Msg{Key: key}
	for k, v := range pairs(args) {
		if m.Args == nil {
			m.Args = map[string]string{}
		}
		m.Args[k] = fmt.Sprint(v)
	}
	return m
}

// Render renders m in lang.
func (c *Catalogue) Render(lang string, m Msg) string {
	args := make([]any, 0, 2*len(m.Args))
	for k, v := range m.Args {
		args = append(args, k, v)
	}
	return c.T(lang, m.Key, args...)
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
