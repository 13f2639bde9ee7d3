package store_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/store"
)

// crc16 is CRC16-XMODEM (polynomial 0x1021, init 0), the checksum Redis Cluster uses.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// hashTag returns the part of key Redis Cluster hashes: the text between the first '{' and
// the first '}' after it, if non-empty; otherwise the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// slot is CLUSTER KEYSLOT.
func slot(key string) uint16 { return crc16(hashTag(key)) & 16383 }

func TestSlotMatchesRedis(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Fatalf("crc16 check value = %#x, want 0x31c3", got)
	}
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	tests := []struct {
		key  string
		want uint16
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"somekey", 11058},
		{"{foo}bar", 12182},
		{"x{foo}y{bar}", 12182},
		{"{}foo", crc16("{}foo") & 16383}, // empty tag: the whole key is hashed
	}
	for _, tt := range tests {
		if got := slot(tt.key); got != tt.want {
			t.Errorf("slot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
	if hashTag("foo{{bar}}zap") != "{bar" || hashTag("foo{}{bar}") != "foo{}{bar}" {
		t.Error("hash tag extraction differs from the Redis Cluster specification")
	}
}

func assertOneSlot(t *testing.T, what string, keys ...string) {
	t.Helper()
	want := slot(keys[0])
	for _, k := range keys[1:] {
		if got := slot(k); got != want {
			t.Errorf("%s: %q is in slot %d, %q in slot %d: a script touching both fails on Redis Cluster (CROSSSLOT)",
				what, keys[0], want, k, got)
		}
	}
}

func TestKeysShareSlotsPerGroup(t *testing.T) {
	for _, prefix := range []string{"lidorub", "acme-prod", "t0123456789ab"} {
		k := store.NewKeys(prefix)

		// The ingest script touches the dedupe marker and the inbound stream together.
		assertOneSlot(t, "inbound", k.Inbound(),
			store.DeadLetter(k.Inbound()),
			k.Dedupe("telegram", "123456", "555:12"),
			k.Dedupe("whatsappcloud", "1029384756", "wamid.HBgLNzk5OTEyMzQ1NjcVAgASGBQzQUE="),
			k.Dedupe("instagram", "", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"),
			k.Dedupe("form", "landing", "{weird}id}"),
			k.Dedupe("", "", ""))

		// Router state: every Core key in one slot.
		assertOneSlot(t, "core", k.Core(), k.Core("conv", "c1"), k.Core("conv", "c2", "transcript"),
			k.Core("queue"), k.Core("timers"), k.Core("managers"), k.Core("outbound"),
			store.DeadLetter(k.Core("outbound")), k.Core("events"), k.Core("{x}"))

		// A channel account's own state.
		for _, acct := range []string{"bot1", "79991234567", "", "odd}name", "with:colon"} {
			assertOneSlot(t, "channel "+acct, k.Channel("telegram", acct, "offset"),
				k.Channel("telegram", acct, "lease"), k.Channel("telegram", acct, "window:42"),
				k.Channel("telegram", acct, ""))
		}

		assertOneSlot(t, "leases", k.Lease("router-timers"), k.Lease("trim"), k.Lease(""))
	}
}

func TestKeysSeparateGroupsAndPrefixes(t *testing.T) {
	k := store.NewKeys("lidorub")
	// Different groups have different hash tags, so they can spread over the cluster.
	tags := map[string]string{
		"inbound":        hashTag(k.Inbound()),
		"core":           hashTag(k.Core("conv")),
		"lease":          hashTag(k.Lease("x")),
		"telegram/bot1":  hashTag(k.Channel("telegram", "bot1", "offset")),
		"telegram/bot2":  hashTag(k.Channel("telegram", "bot2", "offset")),
		"instagram/bot1": hashTag(k.Channel("instagram", "bot1", "offset")),
	}
	seen := map[string]string{}
	for group, tag := range tags {
		if other, ok := seen[tag]; ok {
			t.Errorf("%s and %s share the hash tag %q", group, other, tag)
		}
		seen[tag] = group
	}

	// Two gateways with different prefixes never share a key.
	a, b := store.NewKeys("a"), store.NewKeys("b")
	pairs := [][2]string{
		{a.Inbound(), b.Inbound()},
		{a.Dedupe("form", "", "1"), b.Dedupe("form", "", "1")},
		{a.Core("conv"), b.Core("conv")},
		{a.Channel("telegram", "bot", "offset"), b.Channel("telegram", "bot", "offset")},
		{a.Lease("x"), b.Lease("x")},
	}
	for _, p := range pairs {
		if p[0] == p[1] {
			t.Errorf("prefixes a and b share key %q", p[0])
		}
	}
}

func TestKeysLayout(t *testing.T) {
	k := store.NewKeys("p")
	tests := []struct{ got, want string }{
		{k.Inbound(), "{p:in}:inbound"},
		{k.Dedupe("telegram", "bot", "7"), "{p:in}:dedupe:telegram:bot:" + k.Pseudonym("7")},
		{k.Core("conv", "1"), "{p}:conv:1"},
		{k.Core("queue"), "{p}:queue"},
		{k.Channel("whatsapp", "79990001122", "session"), "{p:ch:whatsapp:79990001122}:session"},
		{k.Lease("timers"), "{p:lease}:timers"},
		{store.DeadLetter("{p}:outbound"), "{p}:outbound:dead"},
		{store.NewKeys("").Inbound(), "{lidorub:in}:inbound"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("key %q, want %q", tt.got, tt.want)
		}
	}
}

// A pseudonym is stable for one salt, differs between salts, and shows nothing of the id.
func TestPseudonym(t *testing.T) {
	k := store.NewKeys("p")
	a, b := k.WithSalt("salt-a"), k.WithSalt("salt-b")
	id := "123456789:42"
	if a.Pseudonym(id) != a.Pseudonym(id) {
		t.Fatal("a pseudonym is not stable")
	}
	if a.Pseudonym(id) == b.Pseudonym(id) || a.Pseudonym(id) == a.Pseudonym("123456789:43") {
		t.Fatal("pseudonyms collide across salts or ids")
	}
	if p := a.Pseudonym(id); len(p) != 32 || strings.Contains(p, "123456789") {
		t.Fatalf("pseudonym %q", p)
	}
	if strings.Contains(a.Dedupe("telegram", "bot", id), "123456789") {
		t.Fatalf("dedupe key %q shows the chat id", a.Dedupe("telegram", "bot", id))
	}
}

// Pseudonym is the first 128 bits of HMAC-SHA256(salt, id) in hex, also when the keyed
// states are reused from the pool by concurrent callers (markers written by an earlier
// version must still be found).
func TestPseudonymIsHMACSHA256(t *testing.T) {
	want := func(salt, id string) string {
		m := hmac.New(sha256.New, []byte(salt))
		m.Write([]byte(id))
		return hex.EncodeToString(m.Sum(nil)[:16])
	}
	k := store.NewKeys("p").WithSalt("0123456789abcdef")
	if got := store.NewKeys("p").Pseudonym("x"); got != want("", "x") {
		t.Fatalf("no salt: %s, want %s", got, want("", "x"))
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				id := fmt.Sprintf("h:%d-%d", w, i)
				if got := k.Pseudonym(id); got != want("0123456789abcdef", id) {
					t.Errorf("Pseudonym(%q) = %s, want %s", id, got, want("0123456789abcdef", id))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// LoadSalt creates the salt once; every later call (another instance) gets the same one.
func TestLoadSalt(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	k := store.NewKeys(prefix)
	first, err := store.LoadSalt(ctx, rdb, k)
	if err != nil {
		t.Fatal(err)
	}
	second, err := store.LoadSalt(ctx, rdb, k)
	if err != nil {
		t.Fatal(err)
	}
	if first.Pseudonym("x") != second.Pseudonym("x") {
		t.Fatal("two instances got different salts")
	}
	if first.Pseudonym("x") == k.Pseudonym("x") {
		t.Fatal("the loaded salt is empty")
	}
	if v := rdb.Get(ctx, k.SaltKey()).Val(); len(v) != 64 {
		t.Fatalf("salt %q, want 32 random bytes in hex", v)
	}
}

// Dedupe is {P:in}:dedupe:<channel>:<account>:<pseudonym of the message id>, with and
// without a salt; a pseudonym is 32 hex digits.
func TestDedupeKeyShape(t *testing.T) {
	for _, k := range []store.Keys{store.NewKeys("acme"), store.NewKeys("acme").WithSalt("s3cret")} {
		for _, c := range [][3]string{{"form", "default", "h:abc"}, {"telegram", "bot1", "555:12"}, {"", "", ""}} {
			ps := k.Pseudonym(c[2])
			if len(ps) != 32 || strings.Trim(ps, "0123456789abcdef") != "" {
				t.Fatalf("pseudonym %q", ps)
			}
			if got, want := k.Dedupe(c[0], c[1], c[2]), "{acme:in}:dedupe:"+c[0]+":"+c[1]+":"+ps; got != want {
				t.Errorf("Dedupe%q = %q, want %q", c, got, want)
			}
		}
	}
}
