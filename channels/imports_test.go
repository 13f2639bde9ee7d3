package channels

import (
	"go/build"
	"strings"
	"testing"
)

const module = "github.com/lidorub/lidorub/"

// The picture the contract exists for: adapters import it, the router imports it, and
// neither it nor the router imports an adapter (nor anything else of the project, for it).
func TestImportArrows(t *testing.T) {
	for _, tc := range []struct {
		dir       string
		forbidden func(path string) bool
		why       string
	}{
		{".", func(p string) bool { return strings.HasPrefix(p, module) }, "the contract imports nothing else of the project"},
		{"../router", func(p string) bool { return strings.HasPrefix(p, module+"channels/") }, "the router knows no adapter"},
	} {
		pkg, err := build.Default.ImportDir(tc.dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkg.Imports) == 0 {
			t.Fatalf("no imports read in %s", tc.dir)
		}
		for _, p := range pkg.Imports {
			if tc.forbidden(p) {
				t.Errorf("%s imports %s: %s", pkg.ImportPath, p, tc.why)
			}
		}
	}
}
