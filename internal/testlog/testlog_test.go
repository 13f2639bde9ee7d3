package testlog_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/lidorub/lidorub/internal/testlog"
)

func TestCaptureCollectsConcurrentRecords(t *testing.T) {
	log, buf := testlog.Capture()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); log.Info("hello", "n", i) }()
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "msg=hello"); got != 8 {
		t.Fatalf("%d records, want 8:\n%s", got, buf.String())
	}
}
