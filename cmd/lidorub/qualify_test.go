package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// TestQualifyGolden: `lidorub qualify test` on the shipped config.yaml rules, compared with
// testdata/qualify_*.golden (go test ./cmd/lidorub -run TestQualifyGolden -update rewrites them).
func TestQualifyGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"qualify_price", []string{"test", "-c", "../../config.yaml", "--channel", "telegram", "--at", "2026-11-29 21:30",
			"Сколько у вас стоит доставка в Казань?"}},
		{"qualify_words_after_flags", []string{"test", "-c", "../../config.yaml", "--at", "2026-12-01 12:00", "--channel", "instagram",
			"How", "much", "is", "shipping?"}},
		{"qualify_conditions", []string{"test", "-c", "../../config.yaml", "Hello", "--channel", "form", "--utm-source", "yandex",
			"--utm-medium", "cpc", "--phone", "+79161234567", "--at", "2026-12-01T09:00:00Z"}},
		{"qualify_not_a_lead", []string{"test", "-c", "../../config.yaml", "--at", "2026-12-01 12:00", "Are you hiring? I'd like to send my resume"}},
		{"qualify_no_rule", []string{"test", "-c", "../../config.yaml", "--at", "2026-12-01 12:00", "--", "-5% скидка?"}},
		{"qualify_after_hours_only", []string{"test", "-c", "../../config.yaml", "--at", "2026-12-05 12:00", "--messages", "3", "Здравствуйте"}},
		{"qualify_table", []string{"test", "-c", "../../config.yaml", "--channel", "form", "--at", "2026-12-01 12:00",
			"--file", "testdata/qualify_messages.txt"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			cleanEnv(t)
			code, stdout, stderr := runCmd(t, append([]string{"qualify"}, tc.args...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			path := filepath.Join("testdata", tc.golden+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if stdout != string(want) {
				t.Errorf("output differs from %s:\n%s\nwant:\n%s", path, stdout, want)
			}
		})
	}
}

func TestQualifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{"no verb", []string{"qualify"}, 2, "lidorub qualify test [-c FILE] [flags] \"message text\""},
		{"another verb", []string{"qualify", "run", "x"}, 2, "usage:"},
		{"no text", []string{"qualify", "test", "-c", "../../config.yaml"}, 2, "give either a message text or --file"},
		{"text and file", []string{"qualify", "test", "-c", "../../config.yaml", "--file", "testdata/qualify_messages.txt", "hi"}, 2, "give either a message text or --file"},
		{"bad --at", []string{"qualify", "test", "-c", "../../config.yaml", "--at", "tomorrow", "hi"}, 2, `--at: cannot parse "tomorrow"`},
		{"bad --messages", []string{"qualify", "test", "-c", "../../config.yaml", "--messages", "0", "hi"}, 2, "--messages must be at least 1"},
		{"unknown flag", []string{"qualify", "test", "--utm-foo", "x", "hi"}, 2, "flag provided but not defined: -utm-foo"},
		{"missing file", []string{"qualify", "test", "-c", "../../config.yaml", "--file", "testdata/nope.txt"}, 1, "--file: open testdata/nope.txt: no such file or directory"},
		{"bad config", []string{"qualify", "test", "-c", "testdata/bad.yml", "hi"}, 1, "testdata/bad.yml: 17 configuration error(s):"},
		{"-c before the command", []string{"-c", "testdata/bad.yml", "qualify", "test", "hi"}, 1, "testdata/bad.yml: 17 configuration error(s):"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderrHas) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s", code, tc.code, tc.stderrHas, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
		})
	}
}
