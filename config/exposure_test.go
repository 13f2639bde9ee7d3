package config

import (
	"os"
	"strings"
	"testing"
)

func TestLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.0.0.2:80": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.5:8080": false,
		"gateway.example.ru:8080": false, "bad": false,
	} {
		if got := Loopback(listen); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", listen, got, want)
		}
	}
}

// The shipped config.yaml listens on loopback; on any other address it refuses to start while
// a manager keeps a documented development token, naming the token's path and what to set.
func TestExposureRefusesDevTokens(t *testing.T) {
	env := func(extra map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := extra[k]; return v, ok }
	}
	src := readRootConfig(t)
	if _, err := Parse(src, env(nil)); err != nil {
		t.Fatalf("shipped config on loopback: %v", err)
	}
	_, err := Parse(src, env(map[string]string{"LIDORUB_LISTEN": ":8080"}))
	if err == nil {
		t.Fatal("dev tokens on :8080 accepted")
	}
	for _, want := range []string{
		"managers[0].token: is a documented development token while http.listen", "is reachable from other machines",
		"LIDORUB_TOKEN_ANNA", "managers[1].token", "LIDORUB_TOKEN_BORIS", "managers[2].token", "LIDORUB_TOKEN_OLGA",
		"managers[3].token", "LIDORUB_TOKEN_SASHA",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "dev-token-anna-0000") {
		t.Errorf("the error echoes a token:\n%v", err)
	}
	ok := env(map[string]string{"LIDORUB_LISTEN": "0.0.0.0:8080",
		"LIDORUB_TOKEN_ANNA": "a-real-secret-token-for-anna", "LIDORUB_TOKEN_BORIS": "a-real-secret-token-for-boris",
		"LIDORUB_TOKEN_OLGA": "a-real-secret-token-for-olga", "LIDORUB_TOKEN_SASHA": "a-real-secret-token-for-sasha"})
	if _, err := Parse(src, ok); err != nil {
		t.Fatalf("secret tokens on 0.0.0.0: %v", err)
	}
}

func readRootConfig(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
