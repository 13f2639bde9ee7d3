package simulate

import (
	"context"
	"os"
	"testing"

	"github.com/lidorub/lidorub/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

// redisBackend runs simulations on the test Redis (REDIS_URL), each run under its own prefix.
func redisBackend(t *testing.T) *Backend {
	t.Helper()
	be, err := NewBackend(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Close() })
	return be
}

func parse(t *testing.T, yml string) *Scenario {
	t.Helper()
	sc, err := ParseScenario([]byte(yml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func simulateT(t *testing.T, o Options) *Report {
	t.Helper()
	rep, err := Simulate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
