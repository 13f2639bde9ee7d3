package webhooks

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lidorub/lidorub/router"
)

// readmeEvents are the README's example events: a telegram lead, the stage's manager and extra.
var readmeEvents = []struct {
	stage, manager, extra, qualification string
	minutes                              int
}{
	{router.StageCreated, "", "", "", 0},
	{router.StageQualified, "anna", `{"level":"hot"}`, "hot", 3},
	{router.StageHandedOff, "anna", `{"note_set":"1"}`, "hot", 4},
	{router.StageSalesAccepted, "sam", "", "hot", 6},
	{router.StageSalesRejected, "sam", `{"reason":"duplicate"}`, "hot", 6},
	{router.StageContacted, "sam", "", "hot", 20},
	{router.StageWon, "sam", `{"amount":"125000","currency":"RUB"}`, "hot", 2 * 24 * 60},
	{router.StageLost, "sam", `{"reason":"price"}`, "hot", 2 * 24 * 60},
	{router.StageClosed, "anna", "", "hot", 3 * 24 * 60},
	{router.StageCorrected, "sue", `{"fields":"phone,email"}`, "hot", 4 * 24 * 60},
}

func readmeExample(i int) []byte {
	e := readmeEvents[i]
	c := &router.Conversation{ID: 1042, Channel: "telegram", Name: "Ivan Petrov", Phone: "+79161234567",
		Email: "ivan@example.com", Source: "winter", Qualification: e.qualification}
	if e.stage != router.StageCreated {
		c.ManagerID = "anna"
	}
	ev := event{Conv: 1042, Stage: e.stage, Manager: e.manager, Extra: e.extra,
		At: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).Add(time.Duration(e.minutes) * time.Minute)}
	b, _ := json.MarshalIndent(payload(ev, c), "", "  ")
	return b
}

// TestReadmeEventExamples: README "Event webhooks" shows every event type once, exactly as
// the gateway builds it. WRITE_EXAMPLES=1 prints them.
func TestReadmeEventExamples(t *testing.T) {
	if os.Getenv("WRITE_EXAMPLES") != "" {
		for i := range readmeEvents {
			os.Stdout.Write(append(readmeExample(i), '\n'))
		}
	}
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "\n## Event webhooks\n")
	end := -1
	if start >= 0 {
		if i := strings.Index(doc[start+1:], "\n## "); i >= 0 {
			end = start + 1 + i
		}
	}
	if start < 0 || end < start {
		t.Fatal(`README: "## Event webhooks" missing or not followed by another "## " section`)
	}
	section := doc[start:end]
	shown := map[string]map[string]any{}
	for _, block := range strings.Split(section, "```json\n")[1:] {
		body, _, _ := strings.Cut(block, "```")
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("README JSON example: %v\n%s", err, body)
		}
		if typ, ok := v["type"].(string); ok && strings.HasPrefix(typ, "lead.") {
			shown[typ] = v
		}
	}
	for i, e := range readmeEvents {
		var want map[string]any
		if err := json.NewDecoder(bytes.NewReader(readmeExample(i))).Decode(&want); err != nil {
			t.Fatal(err)
		}
		typ := EventType(e.stage)
		if d := cmp.Diff(want, shown[typ]); d != "" {
			t.Errorf("README example of %s (-built +README):\n%s", typ, d)
		}
	}
	if len(shown) != len(EventTypes()) {
		t.Errorf("README shows %d event types, want %d", len(shown), len(EventTypes()))
	}
}
