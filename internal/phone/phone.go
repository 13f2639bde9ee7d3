// Package phone normalises phone numbers to E.164 with the answer of libphonenumber
// (github.com/nyaruka/phonenumbers), faster.
//
// E164 gives exactly what phonenumbers.Parse, IsValidNumber and Format(E164) give. Parsing
// is most of libphonenumber's cost (regular expressions for extensions, RFC 3966, vanity
// letters, international and national prefixes), so the common shapes are parsed here:
//
//   - international: "+" and the digits, with spaces, dashes, dots and parentheses
//     ("+7 916 123-45-67", "+49 (30) 1234567");
//   - national, in the default region: digits and the same separators, when the region's
//     national prefix is a plain digit string without a transform rule ("8 (916) 123-45-67"
//     and "9161234567" in RU).
//
// Whenever libphonenumber would do more than that on an input (an international dialling
// prefix, a national prefix it might keep, a number starting with the region's calling code,
// Italian leading zeros, letters, extensions, other characters, odd lengths), the input goes
// to libphonenumber itself. Validity is always libphonenumber's IsValidNumber. The property
// and fuzz tests compare both paths on generated inputs for every region.
package phone

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// E164 returns s as an E.164 string ("+79161234567") when libphonenumber, with region as
// the default region for numbers written without a country code, reads it as a valid
// number; ok is false otherwise.
func E164(s, region string) (e164 string, ok bool) {
	if e, valid, decided := fast(s, region); decided {
		return e, valid
	}
	return slow(s, region)
}

// slow is libphonenumber's answer.
func slow(s, region string) (string, bool) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// Bounds of the fast path, in digits (everything else goes to libphonenumber).
const (
	minDigits = 4  // libphonenumber rejects NSNs shorter than 2 digits and IDD numbers of <= 2
	maxNSN    = 17 // libphonenumber's MAX_LENGTH_FOR_NSN
	maxDigits = 3 + maxNSN
)

// fast parses the common shapes. decided is false when the input must go to
// libphonenumber; when it is true, (e164, valid) is libphonenumber's answer.
func fast(s, region string) (e164 string, valid, decided bool) {
	var buf [maxDigits]byte
	n := 0
	plus := false
	start, end := 0, len(s)
	for start < end && s[start] == ' ' {
		start++
	}
	for end > start && s[end-1] == ' ' {
		end--
	}
	if start < end && s[start] == '+' {
		plus = true
		start++
		if start == end || s[start] < '0' || s[start] > '9' {
			return "", false, false
		}
	}
	for i := start; i < end; i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n == maxDigits {
				return "", false, false
			}
			buf[n] = c
			n++
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "", false, false
		}
	}
	if n < minDigits {
		return "", false, false
	}
	d := buf[:n]
	t := loadTables()
	if plus {
		return t.international(d)
	}
	return t.national(d, region)
}

// international: d are the digits after "+".
func (t *tables) international(d []byte) (string, bool, bool) {
	if d[0] == '0' {
		return "", false, false
	}
	// Country calling codes are prefix-free: the first known 1-3 digit prefix is the code.
	var p *ccPlan
	i := 1
	for ; i <= 3; i++ {
		var known bool
		if p, known = t.byCC[atoi(d[:i])]; known {
			break
		}
	}
	if p == nil { // unknown code, or known without metadata here
		return "", false, false
	}
	nsn := d[i:]
	if len(nsn) < 2 || len(nsn) > maxNSN || nsn[0] == '0' || p.prefix.mayMatch(nsn) {
		return "", false, false
	}
	e, ok := valid(p.cc, p.ccStr, nsn)
	return e, ok, true
}

// national: d are the digits of a number written without "+", read in region.
func (t *tables) national(d []byte, region string) (string, bool, bool) {
	r := t.byRegion[region]
	if r == nil {
		return "", false, false
	}
	if r.idd.Match(d) || hasPrefix(d, r.ccStr) {
		return "", false, false // international dialling prefix, or maybe the calling code
	}
	nsn := d
	if r.prefix.mayMatch(d) {
		if r.prefix.literal == "" || r.transform {
			return "", false, false
		}
		stripped := d[len(r.prefix.literal):]
		// libphonenumber keeps the prefix when the number fits the general pattern with it
		// but not without it, and when the rest is not of a possible length: not here.
		if r.general.Match(d) && !r.general.Match(stripped) {
			return "", false, false
		}
		if !r.possibleLength(len(stripped)) {
			return "", false, false
		}
		nsn = stripped
	}
	if len(nsn) < 2 || len(nsn) > maxNSN || nsn[0] == '0' {
		return "", false, false
	}
	e, ok := valid(r.cc, r.ccStr, nsn)
	return e, ok, true
}

// valid reports whether +cc nsn is valid, as phonenumbers.IsValidNumber would, and
// formats it.
func valid(cc int32, ccStr string, nsn []byte) (string, bool) {
	nn, err := strconv.ParseUint(string(nsn), 10, 64)
	if err != nil {
		return "", false
	}
	v := loadTables().validity[int(cc)]
	if v == nil {
		if !phonenumbers.IsValidNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}) {
			return "", false
		}
	} else if !v.valid(nsn) {
		return "", false
	}
	b := make([]byte, 0, 1+len(ccStr)+len(nsn))
	b = append(b, '+')
	b = append(b, ccStr...)
	b = append(b, nsn...)
	return string(b), true
}

// ccValidity is IsValidNumber for one calling code, over the regions that share it in
// libphonenumber's order, with their patterns compiled once (libphonenumber builds each
// pattern string and looks it up in a locked cache on every call, and matches most of
// them twice).
type ccValidity struct {
	regions []*regionValidity
}

// valid is IsValidNumber for a national significant number without leading zeros:
// GetRegionCodeForNumber, then IsValidNumberForRegion.
func (v *ccValidity) valid(nsn []byte) bool {
	var r *regionValidity
	if len(v.regions) == 1 {
		r = v.regions[0]
	} else {
		for _, c := range v.regions {
			c.compile()
			if c.leading != nil {
				if c.leading.Match(nsn) {
					r = c
					break
				}
			} else if c.typeKnown(nsn) {
				r = c
				break
			}
		}
	}
	if r == nil {
		return false
	}
	r.compile()
	return r.typeKnown(nsn)
}

// regionValidity holds one region's number patterns, compiled on first use.
type regionValidity struct {
	once    sync.Once
	meta    *phonenumbers.PhoneMetadata
	leading *regexp.Regexp // ^(?:leading digits), nil if none
	general desc
	kinds   [8]desc // premium rate, toll free, shared cost, VoIP, personal, pager, UAN, voicemail
	fixed   desc
	mobile  desc
	same    bool // same mobile and fixed-line pattern
}

func (r *regionValidity) compile() {
	r.once.Do(func() {
		m := r.meta
		if ld := m.GetLeadingDigits(); ld != "" {
			r.leading = regexp.MustCompile("^(?:" + ld + ")")
		}
		r.general = newDesc(m.GetGeneralDesc())
		for i, d := range []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(), m.GetVoip(),
			m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
			r.kinds[i] = newDesc(d)
		}
		r.fixed = newDesc(m.GetFixedLine())
		r.mobile = newDesc(m.GetMobile())
		r.same = m.GetSameMobileAndFixedLinePattern()
	})
}

// typeKnown is getNumberTypeHelper(nsn, metadata) != UNKNOWN: the general pattern and any
// of the type patterns libphonenumber tries (the mobile one only when it differs from the
// fixed-line one). The answer is an "or" of them, so the usual types go first: a mobile or
// landline number is known after three matches instead of eleven.
func (r *regionValidity) typeKnown(nsn []byte) bool {
	if !r.general.match(nsn) {
		return false
	}
	if r.fixed.match(nsn) || (!r.same && r.mobile.match(nsn)) {
		return true
	}
	for i := range r.kinds {
		if r.kinds[i].match(nsn) {
			return true
		}
	}
	return false
}

// desc is a PhoneNumberDesc: possible lengths (none: any) and the full-match pattern.
type desc struct {
	re      *regexp.Regexp // nil: the empty pattern, which no national number matches
	lengths []int32
}

func newDesc(d *phonenumbers.PhoneNumberDesc) desc {
	p := d.GetNationalNumberPattern()
	if p == "" {
		return desc{}
	}
	return desc{re: regexp.MustCompile("^(?:" + p + ")$"), lengths: d.GetPossibleLength()}
}

// match is libphonenumber's isNumberMatchingDesc.
func (d *desc) match(nsn []byte) bool {
	if d.re == nil {
		return false
	}
	if len(d.lengths) > 0 {
		found := false
		for _, l := range d.lengths {
			if int(l) == len(nsn) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return d.re.Match(nsn)
}

// tables are the parts of libphonenumber's metadata the fast path reads.
type tables struct {
	byCC     map[int]*ccPlan // every calling code libphonenumber knows; nil plan: no fast path
	byRegion map[string]*regionPlan
	validity map[int]*ccValidity // nil: ask phonenumbers.IsValidNumber
}

// ccPlan is a calling code and the national prefix of its main region (or non-geographic
// entity): libphonenumber tries to strip it even after "+".
type ccPlan struct {
	cc     int32
	ccStr  string
	prefix nationalPrefix
}

// regionPlan is what reading a national number in a region needs.
type regionPlan struct {
	cc        int32
	ccStr     string
	idd       *regexp.Regexp // ^(?:international prefix)
	prefix    nationalPrefix
	transform bool           // a national prefix transform rule exists
	general   *regexp.Regexp // ^(?:general national number pattern)$
	lengths   []int32        // general possible lengths
	local     []int32        // general local-only lengths
}

// possibleLength reports whether libphonenumber's testNumberLength says IS_POSSIBLE for a
// number of n digits: a possible length that is not local-only.
func (r *regionPlan) possibleLength(n int) bool {
	for _, l := range r.local {
		if int(l) == n {
			return false
		}
	}
	for _, l := range r.lengths {
		if int(l) == n {
			return true
		}
	}
	return false
}

// nationalPrefix is national_prefix_for_parsing.
type nationalPrefix struct {
	re      *regexp.Regexp // ^(?:pattern), nil if none
	literal string         // the pattern when it is a plain digit string, else ""
}

// mayMatch reports whether the prefix pattern matches the start of d.
func (p nationalPrefix) mayMatch(d []byte) bool {
	if p.re == nil {
		return false
	}
	if p.literal != "" {
		return hasPrefix(d, p.literal)
	}
	return p.re.Match(d)
}

func newNationalPrefix(pattern string) nationalPrefix {
	if pattern == "" {
		return nationalPrefix{}
	}
	p := nationalPrefix{re: regexp.MustCompile("^(?:" + pattern + ")")}
	if allDigits(pattern) {
		p.literal = pattern
	}
	return p
}

// loadTables builds the tables once from the metadata compiled into libphonenumber.
var loadTables = sync.OnceValue(func() *tables {
	t := &tables{byCC: map[int]*ccPlan{}, byRegion: map[string]*regionPlan{}, validity: map[int]*ccValidity{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return t // no fast path: every input goes to libphonenumber
	}
	byID := map[string]*phonenumbers.PhoneMetadata{}
	nonGeo := map[int32]*phonenumbers.PhoneMetadata{}
	for _, m := range coll.GetMetadata() {
		if m.GetId() == "001" {
			nonGeo[m.GetCountryCode()] = m
			continue
		}
		byID[m.GetId()] = m
	}
	for cc := 1; cc <= 999; cc++ {
		regions := phonenumbers.GetRegionCodesForCountryCode(cc)
		if len(regions) == 0 {
			continue
		}
		t.byCC[cc] = nil
		if v := newCCValidity(cc, regions, byID, nonGeo); v != nil {
			t.validity[cc] = v
		}
		m := byID[regions[0]]
		if regions[0] == "001" {
			m = nonGeo[int32(cc)]
		}
		if m == nil || int(m.GetCountryCode()) != cc {
			continue
		}
		t.byCC[cc] = &ccPlan{cc: int32(cc), ccStr: strconv.Itoa(cc), prefix: newNationalPrefix(m.GetNationalPrefixForParsing())}
	}
	supported := phonenumbers.GetSupportedRegions()
	for id, m := range byID {
		if !supported[id] {
			continue
		}
		r := &regionPlan{
			cc:        m.GetCountryCode(),
			ccStr:     strconv.Itoa(int(m.GetCountryCode())),
			prefix:    newNationalPrefix(m.GetNationalPrefixForParsing()),
			transform: m.GetNationalPrefixTransformRule() != "",
			general:   regexp.MustCompile("^(?:" + m.GetGeneralDesc().GetNationalNumberPattern() + ")$"),
			lengths:   m.GetGeneralDesc().GetPossibleLength(),
			local:     m.GetGeneralDesc().GetPossibleLengthLocalOnly(),
		}
		// Without an international prefix libphonenumber's empty pattern matches every
		// number, which it then reads as international: no national fast path there.
		idd := m.GetInternationalPrefix()
		if idd == "" || r.cc == 0 || len(r.lengths) == 0 || r.lengths[0] == -1 {
			continue
		}
		r.idd = regexp.MustCompile("^(?:" + idd + ")")
		t.byRegion[id] = r
	}
	return t
})

// newCCValidity returns nil when a region of the code has no metadata of that code.
func newCCValidity(cc int, regions []string, byID map[string]*phonenumbers.PhoneMetadata, nonGeo map[int32]*phonenumbers.PhoneMetadata) *ccValidity {
	v := &ccValidity{}
	for _, id := range regions {
		m := byID[id]
		if id == "001" {
			if len(regions) != 1 {
				return nil
			}
			m = nonGeo[int32(cc)]
		}
		if m == nil || int(m.GetCountryCode()) != cc {
			return nil
		}
		v.regions = append(v.regions, &regionValidity{meta: m})
	}
	return v
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasPrefix(d []byte, p string) bool {
	return len(d) >= len(p) && string(d[:len(p)]) == p
}

func atoi(d []byte) int {
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n
}
