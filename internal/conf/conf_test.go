package conf_test

import (
	"strings"
	"testing"

	"github.com/lidorub/lidorub/internal/conf"
)

func TestValidName(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"anna", true}, {"sales_2-b", true}, {strings.Repeat("a", 32), true},
		{"", false}, {strings.Repeat("a", 33), false}, {"Anna", false}, {"a b", false}, {"a:b", false}, {"анна", false},
	} {
		if got := conf.ValidName(c.in); got != c.want {
			t.Errorf("ValidName(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestDefaultFillsOnlyZeroValues(t *testing.T) {
	var c struct {
		N    int
		S    string
		Kept int
	}
	c.Kept = 7
	conf.Default(&c.N, 3)
	conf.Default(&c.S, "x")
	conf.Default(&c.Kept, 4)
	if c.N != 3 || c.S != "x" || c.Kept != 7 {
		t.Fatalf("%+v, want {N:3 S:x Kept:7}", c)
	}
}
