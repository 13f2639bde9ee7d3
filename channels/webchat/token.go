package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// A session token is "<session id>.<expiry unix seconds>.<signature>": the session id is 16
// random bytes (22 base64url characters), the signature base64url(HMAC-SHA256(secret,
// "lidorub-webchat.v1.<account>.<session id>.<expiry>")). It is kept by the browser
// (localStorage) and is the only proof of a session: nothing about it is stored server-side
// until the visitor writes.

var (
	errBadToken     = errors.New("invalid session token")
	errExpiredToken = errors.New("the session has expired")
)

const sidLen = 22

type signer struct {
	secret  []byte
	account string
	ttl     time.Duration
}

// newSID returns a fresh random session id.
func newSID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand on Linux)
	return base64.RawURLEncoding.EncodeToString(b)
}

func validSID(s string) bool {
	if len(s) != sidLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func (s signer) mac(sid, exp string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("lidorub-webchat.v1." + s.account + "." + sid + "." + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sign returns a token for sid valid until now+ttl, and that expiry.
func (s signer) sign(sid string, now time.Time) (string, time.Time) {
	exp := now.Add(s.ttl).Truncate(time.Second)
	e := strconv.FormatInt(exp.Unix(), 10)
	return sid + "." + e + "." + s.mac(sid, e), exp
}

// verify returns the session id of a token signed by s that has not expired at now.
func (s signer) verify(tok string, now time.Time) (string, error) {
	if len(tok) > 200 {
		return "", errBadToken
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || !validSID(parts[0]) {
		return "", errBadToken
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.mac(parts[0], parts[1]))) {
		return "", errBadToken
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", errBadToken
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", errExpiredToken
	}
	return parts[0], nil
}
