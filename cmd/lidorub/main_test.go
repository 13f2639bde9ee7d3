package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMain (redistest.Run) is in meta_wiring_test.go.

// cleanEnv unsets the variables the command reads, for the duration of the test.
func cleanEnv(t *testing.T, names ...string) {
	t.Helper()
	for _, k := range append([]string{"REDIS_URL", "LIDORUB_CONFIG", "LIDORUB_TEST_TOKEN_ANNA", "LIDORUB_TEST_UNSET_TOKEN"}, names...) {
		t.Setenv(k, "") // restores the old value when the test ends
		os.Unsetenv(k)
	}
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const badErrors = `testdata/bad.yml: 17 configuration error(s):
  channels.form.default_region: "XX" is not a region code like RU or DE
  channels.form.max_body_bytes: must be between 1024 and 1048576
  http.listen: must be host:port or :port (got "8080")
  http.read_timeout: cannot parse "10 seconds" as a duration (e.g. 30s, 2m)
  log.level: must be debug, info, warn or error (got "verbose")
  managers[0].token: must be at least 16 characters
  managers[1].id: duplicates managers[0].id "anna"
  managers[1].shifts[0].days[0]: must be one of mon, tue, wed, thu, fri, sat, sun (got "monday")
  managers[1].shifts[0].from: must be a time of day HH:MM (got "9")
  managers[2].id: is required
  managers[2].token: environment variable LIDORUB_TEST_UNSET_TOKEN is not set
  redis.prefix: must not contain '{', '}', ':' or spaces
  redis.url: not a redis:// URL or "embedded": redis: invalid URL scheme: mysql
  router.escalation.managers[0]: no manager has id "nobody"
  router.first_response: must be positive
  router.strategy: must be one of least_busy, round_robin, longest_idle (got "random")
  templates.greeting: unknown key (line 30); valid keys: auto_ack, off_hours, close
`

const goodOK = "testdata/good.yml: OK (2 managers, router strategy round_robin, redis embedded (in memory))\n"

const usage = "usage: lidorub [-c FILE] [serve | config check | whatsapp link|status | version]\n"

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		stdout     string // exact
		stderr     string // exact, unless stderrHas is set
		stderrHas  []string
		stderrNot  []string
		stdoutLike string // regexp, instead of stdout
	}{
		{name: "config check of a bad file prints every error with its path",
			args: []string{"-c", "testdata/bad.yml", "config", "check"}, code: 1, stderr: badErrors},
		{name: "serve with a bad file prints the same errors and starts nothing",
			args: []string{"-c", "testdata/bad.yml", "serve"}, code: 1, stderr: badErrors},
		{name: "serve is the default command",
			args: []string{"-c", "testdata/bad.yml"}, code: 1, stderr: badErrors},
		{name: "config check of a good file",
			args: []string{"-c", "testdata/good.yml", "config", "check"}, code: 0, stdout: goodOK},
		{name: "-c after the subcommand",
			args: []string{"config", "check", "-c", "testdata/good.yml"}, code: 0, stdout: goodOK},
		{name: "--config=FILE after the subcommand",
			args: []string{"config", "check", "--config=testdata/bad.yml"}, code: 1, stderr: badErrors},
		{name: "-c between the words of the subcommand",
			args: []string{"config", "-c", "testdata/good.yml", "check"}, code: 0, stdout: goodOK},
		{name: "-c without a file",
			args: []string{"config", "check", "-c"}, code: 2, stderrHas: []string{"flag needs an argument: -c", usage}},
		{name: "LIDORUB_CONFIG names the file",
			args: []string{"config", "check"}, env: map[string]string{"LIDORUB_CONFIG": "testdata/good.yml"}, code: 0, stdout: goodOK},
		{name: "-c wins over LIDORUB_CONFIG",
			args: []string{"-c", "testdata/good.yml", "config", "check"}, env: map[string]string{"LIDORUB_CONFIG": "testdata/bad.yml"}, code: 0, stdout: goodOK},
		{name: "the shipped config.yaml is valid",
			args: []string{"-c", "../../config.yaml", "config", "check"}, code: 0,
			stdout: "../../config.yaml: OK (4 managers, router strategy least_busy, redis embedded (in memory))\n"},
		{name: "a missing -c file",
			args: []string{"-c", "testdata/nope.yml", "config", "check"}, code: 1,
			stderr: "testdata/nope.yml: 1 configuration error(s):\n" +
				"  cannot read config file testdata/nope.yml: no such file or directory\n" +
				"  (give the file with -c FILE or LIDORUB_CONFIG)\n"},
		{name: "a missing LIDORUB_CONFIG file",
			args: []string{"config", "check"}, env: map[string]string{"LIDORUB_CONFIG": "testdata/gone.yml"}, code: 1,
			stderrHas: []string{"cannot read config file testdata/gone.yml: no such file or directory", "(give the file with -c FILE or LIDORUB_CONFIG)"}},
		{name: "a directory as config file",
			args: []string{"-c", "testdata", "config", "check"}, code: 1,
			stderrHas: []string{"cannot read config file testdata: is a directory"}},
		{name: "environment secrets are never printed",
			args: []string{"-c", "testdata/good.yml", "config", "check"}, env: map[string]string{"LIDORUB_TEST_TOKEN_ANNA": "hush-secret"}, code: 1,
			stderr:    "testdata/good.yml: 1 configuration error(s):\n  managers[0].token: must be at least 16 characters\n",
			stderrNot: []string{"hush-secret"}},
		{name: "REDIS_URL overrides redis.url",
			args: []string{"-c", "testdata/good.yml", "config", "check"}, env: map[string]string{"REDIS_URL": "redis://:pw-123456@127.0.0.1:6390/2"}, code: 0,
			stdout: "testdata/good.yml: OK (2 managers, router strategy round_robin, redis external)\n"},
		{name: "REDIS_URL=embedded",
			args: []string{"-c", "testdata/good.yml", "config", "check"}, env: map[string]string{"REDIS_URL": "embedded"}, code: 0, stdout: goodOK},
		{name: "a bad REDIS_URL is an error naming it, without its password",
			args: []string{"-c", "testdata/good.yml", "config", "check"}, env: map[string]string{"REDIS_URL": "redis://:s3cret-pw@redis.internal:abc/0"}, code: 1,
			stderr: "testdata/good.yml: 1 configuration error(s):\n" +
				`  redis (from REDIS_URL).url: not a redis:// URL or "embedded": invalid port ":abc" after host` + "\n",
			stderrNot: []string{"s3cret-pw"}},
		{name: "a REDIS_URL with a bad scheme",
			args: []string{"-c", "testdata/good.yml", "config", "check"}, env: map[string]string{"REDIS_URL": "http://user:s3cret-pw@redis:6379"}, code: 1,
			stderr: "testdata/good.yml: 1 configuration error(s):\n" +
				`  redis (from REDIS_URL).url: not a redis:// URL or "embedded": redis: invalid URL scheme: http` + "\n",
			stderrNot: []string{"s3cret-pw"}},
		{name: "REDIS_URL is not consulted when the file is already wrong",
			args: []string{"-c", "testdata/bad.yml", "config", "check"}, env: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379"}, code: 1, stderr: badErrors},
		{name: "version",
			args: []string{"version"}, code: 0, stdoutLike: `^lidorub \S+\n$`},
		{name: "version reads no config",
			args: []string{"-c", "testdata/nope.yml", "version"}, code: 0, stdoutLike: `^lidorub \S+\n$`},
		{name: "unknown subcommand",
			args: []string{"frobnicate"}, code: 2, stderrHas: []string{usage, "-c string"}},
		{name: "config without check",
			args: []string{"-c", "testdata/good.yml", "config"}, code: 2, stderrHas: []string{usage}},
		{name: "config with another verb",
			args: []string{"-c", "testdata/good.yml", "config", "lint"}, code: 2, stderrHas: []string{usage}},
		{name: "config check with an extra argument",
			args: []string{"-c", "testdata/good.yml", "config", "check", "now"}, code: 2, stderrHas: []string{usage}},
		{name: "serve with an extra argument",
			args: []string{"-c", "testdata/good.yml", "serve", "now"}, code: 2, stderrHas: []string{usage}},
		{name: "unknown flag",
			args: []string{"-x", "config", "check"}, code: 2, stderrHas: []string{"flag provided but not defined: -x", usage}},
		{name: "-c without a value",
			args: []string{"-c"}, code: 2, stderrHas: []string{"flag needs an argument: -c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			switch {
			case tc.stdoutLike != "":
				if !regexp.MustCompile(tc.stdoutLike).MatchString(stdout) {
					t.Errorf("stdout %q does not match %s", stdout, tc.stdoutLike)
				}
			case stdout != tc.stdout:
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
			}
			if tc.stderrHas != nil {
				for _, s := range tc.stderrHas {
					if !strings.Contains(stderr, s) {
						t.Errorf("stderr lacks %q:\n%s", s, stderr)
					}
				}
			} else if stderr != tc.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, tc.stderr)
			}
			for _, s := range tc.stderrNot {
				if strings.Contains(stderr+stdout, s) {
					t.Errorf("output contains %q", s)
				}
			}
		})
	}
}

func TestVersionFromLinkerFlag(t *testing.T) {
	old := version
	version = "v1.2.3"
	t.Cleanup(func() { version = old })
	if code, out, _ := runCmd(t, "version"); code != 0 || out != "lidorub v1.2.3\n" {
		t.Fatalf("version: %d %q", code, out)
	}
}

// Without -c and LIDORUB_CONFIG the command reads ./config.yaml, else the embedded example.
func TestDefaultConfigLookup(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errOut := runCmd(t, "config", "check")
	if want := "embedded example config: OK (4 managers, router strategy least_busy, redis embedded (in memory))\n"; code != 0 || out != want {
		t.Fatalf("no config.yaml: %d %q %q", code, out, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("router:\n  strategy: longest_idle\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "config", "check")
	if want := "config.yaml: OK (0 managers, router strategy longest_idle, redis embedded (in memory))\n"; code != 0 || out != want {
		t.Fatalf("with ./config.yaml: %d %q %q", code, out, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("router:\n  strategy: slowest\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd(t, "config", "check")
	if want := "config.yaml: 1 configuration error(s):\n  router.strategy: must be one of least_busy, round_robin, longest_idle (got \"slowest\")\n"; code != 1 || errOut != want {
		t.Fatalf("with a bad ./config.yaml: %d %q", code, errOut)
	}
}
