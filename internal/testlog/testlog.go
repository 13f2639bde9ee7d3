// Package testlog gives tests loggers: one that is silent unless DEBUGLOG is set, and a
// Buffer that collects the output of concurrent handlers so a test can assert on it.
package testlog

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Logger discards everything, unless DEBUGLOG is set in the environment: then it writes
// text to stderr (to watch a failing test).
func Logger() *slog.Logger {
	if os.Getenv("DEBUGLOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// Buffer is a log sink safe for concurrent writers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

var _ io.Writer = (*Buffer)(nil)

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Capture returns a text logger writing to a new Buffer, and the Buffer.
func Capture() (*slog.Logger, *Buffer) {
	b := &Buffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}
