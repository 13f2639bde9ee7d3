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
