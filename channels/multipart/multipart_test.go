package multipart

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lidorub/lidorub/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Run(m)) }

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"empty", "", 10, nil},
		{"short", "привет", 100, []string{"привет"}},
		{"at space", "aaaa bbbb cccc", 10, []string{"aaaa bbbb ", "cccc"}},
		{"at newline", "aa\nbbbb cc dd", 10, []string{"aa\nbbbb ", "cc dd"}},
		{"no break", "abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"runes", "жжжжжж", 5, []string{"жж", "жж", "жж"}},
		{"emoji", "😀😀", 5, []string{"😀", "😀"}},
		{"rune wider than max", "😀", 2, []string{"😀"}},
	} {
		got := Split(tc.text, tc.max)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("%s: got %q want %q", tc.name, got, tc.want)
		}
		for _, p := range got {
			if !utf8.ValidString(p) {
				t.Errorf("%s: invalid UTF-8 part %q", tc.name, p)
			}
		}
	}
}

// A send that fails in the middle resumes, on its retry, with the first unsent part; the
// id returned is the first part's.
func TestSendResumes(t *testing.T) {
	rdb, prefix := redistest.New(t)
	key := "{" + prefix + "}:progress"
	var sent []int
	fail := 2
	send := func(i int) (string, error) {
		if i == fail {
			fail = -1
			return "", errors.New("boom")
		}
		sent = append(sent, i)
		return "id" + string(rune('0'+i)), nil
	}
	ctx := context.Background()
	if first, err := Send(ctx, rdb, key, 4, send); err == nil || first != "id0" {
		t.Fatalf("first try: %q, %v", first, err)
	}
	first, err := Send(ctx, rdb, key, 4, send)
	if err != nil || first != "id0" {
		t.Fatalf("retry: %q, %v", first, err)
	}
	if !slices.Equal(sent, []int{0, 1, 2, 3}) {
		t.Fatalf("parts sent %v, want each once in order", sent)
	}
	// A one-part message keeps no progress.
	if _, err := Send(ctx, rdb, "{"+prefix+"}:single", 1, send); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, "{"+prefix+"}:single").Val(); n != 0 {
		t.Fatal("progress kept for a single part")
	}
}
