package phone

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// agree fails when the fast path decided s differently from libphonenumber. It reports
// whether the fast path decided.
func agree(t *testing.T, s, region string) bool {
	t.Helper()
	e, valid, decided := fast(s, region)
	if !decided {
		return false
	}
	want, wantOK := slow(s, region)
	if e != want || valid != wantOK {
		t.Fatalf("E164(%q, %q): fast path %q %v, libphonenumber %q %v", s, region, e, valid, want, wantOK)
	}
	return true
}

// The shapes web forms send take the fast path and give libphonenumber's answer.
func TestE164CommonShapes(t *testing.T) {
	for _, tc := range []struct {
		in, region, want string
	}{
		{"+79161234567", "RU", "+79161234567"},
		{"+7 916 123-45-67", "RU", "+79161234567"},
		{"+7 (916) 123-45-67", "US", "+79161234567"},
		{"8 (916) 123-45-67", "RU", "+79161234567"},
		{"89161234567", "RU", "+79161234567"},
		{"8-916-123-45-67", "KZ", "+79161234567"},
		{"9161234567", "RU", "+79161234567"},
		{"(495) 123-45-67", "RU", "+74951234567"},
		{"8 495 123 45 67", "RU", "+74951234567"},
		{"+7 701 123 4567", "RU", "+77011234567"}, // Kazakhstan mobile
		{"+375 29 123-45-67", "RU", "+375291234567"},
		{"+380 50 123 4567", "RU", "+380501234567"},
		{"+49 30 1234567", "RU", "+49301234567"},
		{"+44 20 7946 0958", "RU", "+442079460958"},
		{"+1 (202) 555-0123", "RU", "+12025550123"},
		{"+1 202-456-1111", "RU", "+12024561111"},
		{"+7 916 123-45-6", "RU", ""}, // too short
	} {
		e, valid, decided := fast(tc.in, tc.region)
		if !decided {
			t.Errorf("%q in %s: not on the fast path", tc.in, tc.region)
			continue
		}
		if e != tc.want || valid != (tc.want != "") {
			t.Errorf("%q in %s: %q %v, want %q", tc.in, tc.region, e, valid, tc.want)
		}
		agree(t, tc.in, tc.region)
		if got, ok := E164(tc.in, tc.region); got != e || ok != valid {
			t.Errorf("E164(%q) = %q %v, fast path %q %v", tc.in, got, ok, e, valid)
		}
	}
}

// Inputs the fast path must leave to libphonenumber (it would strip, convert or guess).
func TestE164Defers(t *testing.T) {
	for _, tc := range []struct{ in, region string }{
		{"+7 800 200-06-00", "RU"},      // national prefix 8 after +7: libphonenumber decides
		{"7 916 123 45 67", "RU"},       // starts with the calling code, no "+"
		{"810 49 30 1234567", "RU"},     // international dialling prefix 810
		{"0049 30 1234567", "DE"},       // international dialling prefix 00
		{"+39 06 1234 5678", "RU"},      // Italian leading zero
		{"+7 916 123 45 67 ext 12", ""}, // extension
		{"tel:+7-916-123-45-67", "RU"},  // RFC 3966
		{"1-800-FLOWERS", "US"},         // vanity letters
		{"＋７９１６１２３４５６７", "RU"},          // full-width
		{"+ 7 916 123 45 67", "RU"},
		{"+999 123 456 789", "RU"}, // no such calling code
		{"", "RU"},
		{"12", "RU"},
	} {
		if _, _, decided := fast(tc.in, tc.region); decided {
			t.Errorf("%q in %s: decided by the fast path", tc.in, tc.region)
		}
		want, wantOK := slow(tc.in, tc.region)
		if got, ok := E164(tc.in, tc.region); got != want || ok != wantOK {
			t.Errorf("E164(%q, %s) = %q %v, libphonenumber %q %v", tc.in, tc.region, got, ok, want, wantOK)
		}
	}
}

// Property: for libphonenumber's example numbers of every region and type, written in
// every format and slightly altered, read with several default regions, the fast path
// gives libphonenumber's answer or defers.
func TestE164ExampleNumbersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	var inputs, decided int
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			forms := []string{
				phonenumbers.Format(ex, phonenumbers.E164),
				phonenumbers.Format(ex, phonenumbers.INTERNATIONAL),
				phonenumbers.Format(ex, phonenumbers.NATIONAL),
				nsn,
				phonenumbers.GetNddPrefixForRegion(region, true) + nsn,
			}
			for _, f := range forms[:4] {
				forms = append(forms, mutate(rng, f))
			}
			for _, f := range forms {
				for _, def := range []string{region, "RU", "US"} {
					inputs++
					if agree(t, f, def) {
						decided++
					}
				}
			}
		}
	}
	t.Logf("%d inputs, %d decided by the fast path", inputs, decided)
	if decided < inputs/3 {
		t.Fatalf("fast path decided only %d of %d inputs", decided, inputs)
	}
}

// Property: random strings over the fast path's alphabet, shaped like Russian and
// international numbers, agree with libphonenumber in RU, KZ, US, DE and GB.
func TestE164RandomAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 8000
	if testing.Short() {
		n = 1000
	}
	regions := []string{"RU", "KZ", "US", "DE", "GB", "BY", "UA"}
	var decided int
	for i := 0; i < n; i++ {
		s := randomNumber(rng)
		if agree(t, s, regions[rng.IntN(len(regions))]) {
			decided++
		}
	}
	t.Logf("%d inputs, %d decided by the fast path", n, decided)
	if decided < n/3 {
		t.Fatalf("fast path decided only %d of %d inputs", decided, n)
	}
}

// FuzzE164 compares the fast path with libphonenumber on arbitrary input
// (go test -run '^$' -fuzz FuzzE164 -fuzztime 30s ./internal/phone).
func FuzzE164(f *testing.F) {
	for _, s := range []string{"+79161234567", "8 (916) 123-45-67", "9161234567", "+7 800 200-06-00", "+44 20 7946 0958",
		"+1 202-456-1111", "0049 30 1234567", "+39 06 1234 5678", "810 49 30 1234567", "(495) 123-45-67"} {
		f.Add(s, uint8(0))
	}
	regions := []string{"RU", "KZ", "US", "DE", "GB", "IT", "AR", "MX", "BR", "FR", "", "ZZ", "ru"}
	f.Fuzz(func(t *testing.T, s string, r uint8) {
		region := regions[int(r)%len(regions)]
		agree(t, s, region)
		want, wantOK := slow(s, region)
		if got, ok := E164(s, region); got != want || ok != wantOK {
			t.Fatalf("E164(%q, %q) = %q %v, libphonenumber %q %v", s, region, got, ok, want, wantOK)
		}
	})
}

// mutate changes, drops or adds a digit, or adds a separator.
func mutate(rng *rand.Rand, s string) string {
	b := []byte(s)
	if len(b) == 0 {
		return s
	}
	i := rng.IntN(len(b))
	switch rng.IntN(4) {
	case 0:
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = byte('0' + rng.IntN(10))
		}
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b = append(b[:i], append([]byte{byte('0' + rng.IntN(10))}, b[i:]...)...)
	default:
		b = append(b[:i], append([]byte{" -()."[rng.IntN(5)]}, b[i:]...)...)
	}
	return string(b)
}

// randomNumber writes a number the way people type them into forms.
func randomNumber(rng *rand.Rand) string {
	var sb strings.Builder
	switch rng.IntN(6) {
	case 0:
		sb.WriteString("+7")
	case 1:
		sb.WriteString("8")
	case 2:
		sb.WriteString("+")
		sb.WriteString(strings.Repeat("0123456789"[rng.IntN(9)+1:][:1], 1))
	case 3:
		sb.WriteString("+" + []string{"1", "44", "49", "375", "380", "998", "996", "86", "33", "39", "54", "52", "55", "800", "882"}[rng.IntN(15)])
	case 4:
		sb.WriteString("7")
	}
	digits := 6 + rng.IntN(9)
	first := true
	for i := 0; i < digits; i++ {
		if !first && rng.IntN(4) == 0 {
			sb.WriteByte(" -()."[rng.IntN(5)])
		}
		first = false
		c := byte('0' + rng.IntN(10))
		if i == 0 && rng.IntN(2) == 0 {
			c = "3489"[rng.IntN(4)]
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func BenchmarkE164(b *testing.B) {
	for _, tc := range []struct{ name, in string }{
		{"e164", "+79161234567"},
		{"national", "8 (916) 123-45-67"},
		{"deferred", "+7 800 200-06-00"},
	} {
		b.Run("fast/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				E164(tc.in, "RU")
			}
		})
		b.Run("libphonenumber/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				slow(tc.in, "RU")
			}
		})
	}
}

// Property: the compiled validity check is phonenumbers.IsValidNumber, for every calling
// code, on example numbers of every region and type and on their one-digit changes.
func TestValidMatchesIsValidNumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var checked int
	check := func(cc int32, nsn string) {
		if len(nsn) < 2 || nsn[0] == '0' || !allDigits(nsn) {
			return
		}
		v := loadTables().validity[int(cc)]
		if v == nil {
			return
		}
		nn, _ := strconv.ParseUint(nsn, 10, 64)
		want := phonenumbers.IsValidNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn})
		if got := v.valid([]byte(nsn)); got != want {
			t.Fatalf("+%d %s: valid %v, IsValidNumber %v", cc, nsn, got, want)
		}
		checked++
	}
	for region := range phonenumbers.GetSupportedRegions() {
		for typ := phonenumbers.PhoneNumberType(0); typ <= phonenumbers.VOICEMAIL; typ++ {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			check(ex.GetCountryCode(), nsn)
			for range 5 {
				check(ex.GetCountryCode(), mutate(rng, nsn))
			}
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if ex := phonenumbers.GetExampleNumberForNonGeoEntity(cc); ex != nil {
			check(int32(cc), phonenumbers.GetNationalSignificantNumber(ex))
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d numbers checked", checked)
	}
}
