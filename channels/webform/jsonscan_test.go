package webform

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonSyntaxCases are bodies at the edges of JSON's grammar, valid and not.
var jsonSyntaxCases = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, `null`, `true`, `false`, `nul`, `tru`, `falsey`, `0`, `-0`, `01`, `-`, `1.`, `1.5`,
	`.5`, `1e5`, `1E+5`, `1e-05`, `1e`, `1e+`, `-1.5e3`, `+1`, `0x10`, `1 2`, `"x"`, `"x`, `"\u00e9"`, `"\u00G9"`, `"\u00e"`,
	`"\x"`, `"\/\b\f\n\r\t\\\""`, "\"a\tb\"", "\"a\x1fb\"", "\"\xff\xfe\"", `{"a":1}`, `{"a":1,}`, `{"a":1 "b":2}`,
	`{"a" 1}`, `{a:1}`, `{"a":}`, `{"a":1}}`, `{"a":[1,2,{"b":null}],"c":{"d":[]}}`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`,
	`{"a":1}x`, `{"a":1} ` + "\n\t\r", "\v{}", `{"a":"}"}`, `{"\"":1}`, `{"a":1,"a":2}`, `{"a":-}`, `{"a":[1,2]`, `{"a":`,
	`{"a"`, `{"`, `{`, `[`, `"\`, `"\u`, `{"name":"Anna","consent":true}`,
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	`{"a":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`,
	`{"a":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + `}`,
	strings.Repeat(`{"a":`, maxJSONDepth) + `1` + strings.Repeat("}", maxJSONDepth),
	strings.Repeat(`{"a":`, maxJSONDepth+1) + `1` + strings.Repeat("}", maxJSONDepth+1),
}

// scanJSON accepts exactly what json.Valid accepts, nesting limit included.
func TestScanJSONMatchesValid(t *testing.T) {
	for _, c := range jsonSyntaxCases {
		if got, want := scanJSON([]byte(c), nil), json.Valid([]byte(c)); got != want {
			t.Errorf("%.60q: scanJSON %v, json.Valid %v", c, got, want)
		}
	}
}

// The members scanJSON reports for a valid object are the object's members as
// encoding/json reads them, in order.
func TestScanJSONMembers(t *testing.T) {
	body := ` {"name" : "An\"na", "x":{"y":[1,"}"]}, "n":-1.5e3 ,"e\u0041":null} `
	var got []string
	if !scanJSON([]byte(body), func(k, v []byte) { got = append(got, string(k)+"="+string(v)) }) {
		t.Fatal("valid body refused")
	}
	want := []string{`name="An\"na"`, `x={"y":[1,"}"]}`, `n=-1.5e3`, `e\u0041=null`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("members %q, want %q", got, want)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil || len(m) != len(want) {
		t.Fatalf("encoding/json: %v %v", m, err)
	}
}

// FuzzScanJSON compares scanJSON with json.Valid on arbitrary bodies.
func FuzzScanJSON(f *testing.F) {
	for _, c := range jsonSyntaxCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := scanJSON(b, nil), json.Valid(b); got != want {
			t.Fatalf("%q: scanJSON %v, json.Valid %v", b, got, want)
		}
	})
}
