// Package conf holds the small helpers every package's config uses: errors that name the
// YAML path of the offending key, and a collector for several of them.
package conf

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is a validation error for one YAML path, e.g. "router.offer_timeout: must be positive".
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Errorf builds a FieldError for path.
func Errorf(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Errors collects validation errors. The zero value is ready to use.
type Errors struct{ list []error }

// Add records a FieldError for path.
func (e *Errors) Add(path, format string, args ...any) {
	e.list = append(e.list, Errorf(path, format, args...))
}

// Merge records err (which may be nil or an errors.Join of several), prefixing every
// FieldError path inside it with prefix (joined by ".").
func (e *Errors) Merge(prefix string, err error) {
	if err == nil {
		return
	}
	for _, one := range Flatten(err) {
		var fe *FieldError
		if errors.As(one, &fe) && prefix != "" {
			p := prefix
			if fe.Path != "" {
				if strings.HasPrefix(fe.Path, "[") {
					p += fe.Path
				} else {
					p += "." + fe.Path
				}
			}
			one = &FieldError{Path: p, Msg: fe.Msg}
		}
		e.list = append(e.list, one)
	}
}

// Err returns nil or all collected errors joined.
func (e *Errors) Err() error { return errors.Join(e.list...) }

// Flatten returns the individual errors of an errors.Join tree.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// ValidName reports whether s is a configuration identifier (a manager id, a bot or account
// name): 1 to 32 characters of a-z, 0-9, '_' or '-', safe inside Redis keys and URLs.
func ValidName(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Default sets *field to v when it holds its zero value (the key was not set), for
// per-section Defaults methods: conf.Default(&c.Workers, 4).
func Default[T comparable](field *T, v T) {
	var zero T
	if *field == zero {
		*field = v
	}
}
