package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/lidorub/lidorub/internal/conf"
)

// MaxFileSize bounds the config file Load reads.
const MaxFileSize = 4 << 20

// Load reads the config file at path and parses it with the process environment
// (see Parse). Errors about a key or value are *conf.FieldError values, each starting with
// the YAML path; errors about the file as a whole (unreadable, not YAML, several documents)
// start with the file's path.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		var de *docError
		if errors.As(err, &de) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	return cfg, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &fileError{path: path, err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &fileError{path: path, err: err}
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config file %s is larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

// fileError reads "cannot read config file config.yaml: no such file or directory" and
// unwraps to the *fs.PathError (errors.Is(err, fs.ErrNotExist) holds).
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string {
	msg := e.err.Error()
	var pe *fs.PathError
	if errors.As(e.err, &pe) {
		msg = pe.Err.Error()
	}
	return "cannot read config file " + e.path + ": " + msg
}

func (e *fileError) Unwrap() error { return e.err }

// Parse decodes a config document strictly, expands ${VAR} references in its values with
// getenv (nil: no variable is set), fills the defaults and validates the result.
//
// Strictness: every key must be a known one (an unknown key is reported with its full YAML
// path and line, all of them, not only the first), a key may appear only once per mapping,
// every value must have the right type, and the file holds at most one YAML document. An
// empty file is valid and means "defaults only".
//
// Environment references are expanded only inside scalar values, never in keys, and the
// result is never parsed as YAML again, so a variable's value cannot add structure:
//
//	${VAR}           the value of VAR; an error naming the YAML path if VAR is not set
//	${VAR:-default}  the value of VAR, or default if VAR is unset or empty
//	$$               a literal $ (a $ not followed by { or $ is also kept as is)
//
// The default text is taken literally (no nested references). For a value that is not a
// string (a number, a duration, true/false), an expansion that yields "" means "not set".
//
// Every error names the YAML path it is about, and no error ever contains a value that came
// from the environment: such values are shown as the ${VAR} reference they came from. All
// errors are returned together (errors.Join of *conf.FieldError), sorted by path.
func Parse(data []byte, getenv func(string) (string, bool)) (*Config, error) {
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	root, err := parseDocument(data)
	if err != nil {
		return nil, err
	}
	cfg := &Config{}
	d := &decoder{getenv: getenv, active: map[*yaml.Node]bool{}}
	if root != nil {
		if root.Kind != yaml.MappingNode {
			return nil, &docError{fmt.Sprintf("the top level must be a mapping of keys (redis:, router:, ...), not %s (line %d)", kindName(root), root.Line)}
		}
		d.budget = 4*countNodes(root, 0) + 100000
		d.decode("", root, reflect.ValueOf(cfg).Elem(), 0)
		if d.exhausted {
			return nil, &docError{"the document expands too many aliases"}
		}
	}
	cfg.Defaults()
	all := dedupe(d.errs)
	for _, e := range conf.Flatten(cfg.Validate()) {
		if !d.covered(e) {
			all = append(all, e)
		}
	}
	if len(all) > 0 {
		return nil, d.redact(sortErrors(errors.Join(all...)))
	}
	return cfg, nil
}

// dedupe drops repeated errors (a mapping merged twice reports its problems twice).
func dedupe(errs []error) []error {
	seen := map[string]bool{}
	out := errs[:0:0]
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

// docError is about the file as a whole rather than one key.
type docError struct{ msg string }

func (e *docError) Error() string { return e.msg }

// parseDocument returns the root node of the only document, or nil for an empty one.
func parseDocument(data []byte) (root *yaml.Node, err error) {
	defer func() {
		// Guard against a parser bug turning a malformed file into a crash.
		if r := recover(); r != nil {
			root, err = nil, &docError{"invalid YAML: the parser failed"}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(err)
	default:
		return nil, &docError{fmt.Sprintf("the file holds more than one YAML document (the second starts on line %d); put the whole config in one", next.Line)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root = doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	return root, nil
}

func yamlError(err error) error {
	return &docError{"invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

func countNodes(n *yaml.Node, depth int) int {
	if n == nil || depth > 10000 {
		return 0
	}
	c := 1
	for _, k := range n.Content {
		c += countNodes(k, depth+1)
	}
	return c
}

const maxDepth = 100

// decoder walks a yaml.Node tree against a Go value, collecting every error.
type decoder struct {
	getenv    func(string) (string, bool)
	errs      []error
	errPaths  []string            // paths whose value could not be decoded
	active    map[*yaml.Node]bool // alias targets being decoded (cycle guard)
	budget    int                 // nodes left to visit (alias bombs)
	exhausted bool                // budget ran out
	secrets   map[string]string   // text that came from the environment -> what to show instead
	envPaths  map[string]bool     // paths whose value came (in part) from the environment
}

func (d *decoder) fail(path, format string, args ...any) {
	if path == "" {
		path = "(top level)"
	}
	d.errs = append(d.errs, conf.Errorf(path, format, args...))
}

// failValue records an error that leaves the value at path unset.
func (d *decoder) failValue(path, format string, args ...any) {
	d.fail(path, format, args...)
	d.errPaths = append(d.errPaths, path)
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	nodeType        = reflect.TypeFor[yaml.Node]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value, depth int) {
	if d.exhausted {
		return
	}
	if d.budget--; d.budget < 0 {
		d.exhausted = true
		return
	}
	if depth > maxDepth {
		d.failValue(path, "nested too deeply")
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.active[n.Alias] {
			d.failValue(path, "alias *%s refers to itself (line %d)", clip(n.Value), n.Line)
			return
		}
		d.active[n.Alias] = true
		d.decode(path, n.Alias, v, depth+1)
		delete(d.active, n.Alias)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return
	}
	t := v.Type()
	if t == nodeType { // raw YAML for the package to decode itself (no expansion, no strictness)
		v.Set(reflect.ValueOf(*n))
		return
	}
	if v.CanAddr() && t.Kind() != reflect.Pointer {
		if pt := reflect.PointerTo(t); pt.Implements(unmarshalerType) {
			d.custom(path, n, v)
			return
		} else if pt.Implements(textType) && t != durationType {
			d.text(path, n, v)
			return
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(path, n, v.Elem(), depth+1)
	case reflect.Struct:
		d.decodeStruct(path, n, v, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.failValue(path, "expected a list, got %s (line %d)", kindName(n), n.Line)
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(fmt.Sprintf("%s[%d]", path, i), c, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(path, n, v, depth)
	case reflect.Interface:
		// No strictness to enforce on an untyped value: let yaml.v3 build it.
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.failValue(path, "invalid value (line %d)", n.Line)
		}
	default:
		d.scalar(path, n, v)
	}
}

// mapEntry is one key: value pair of a mapping, after merges.
type mapEntry struct {
	key  string
	line int
	val  *yaml.Node
}

// entries lists the pairs of mapping n: duplicates are errors, "<<: *anchor" merges are
// applied (keys written in n win over merged ones, earlier merge sources over later ones).
func (d *decoder) entries(path string, n *yaml.Node, depth int) []mapEntry {
	var out []mapEntry
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(path, "a key must be a plain string, not %s (line %d)", kindName(k), k.Line)
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(joinPath(path, k.Value), "duplicate key (lines %d and %d)", first, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, mapEntry{key: k.Value, line: k.Line, val: val})
	}
	for _, m := range merges {
		for _, src := range d.mergeSources(path, m) {
			if depth > maxDepth || d.active[src] {
				d.fail(path, "merge (<<) refers to itself (line %d)", m.Line)
				continue
			}
			d.active[src] = true
			for _, e := range d.entries(path, src, depth+1) {
				if _, ok := seen[e.key]; !ok {
					seen[e.key] = e.line
					out = append(out, e)
				}
			}
			delete(d.active, src)
		}
	}
	return out
}

func (d *decoder) mergeSources(path string, m *yaml.Node) []*yaml.Node {
	deref := func(n *yaml.Node) *yaml.Node {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			return n.Alias
		}
		return n
	}
	m = deref(m)
	switch m.Kind {
	case yaml.MappingNode:
		return []*yaml.Node{m}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range m.Content {
			if c = deref(c); c.Kind == yaml.MappingNode {
				out = append(out, c)
			} else {
				d.fail(path, "a merge (<<) takes a mapping or a list of mappings (line %d)", c.Line)
			}
		}
		return out
	}
	d.fail(path, "a merge (<<) takes a mapping or a list of mappings (line %d)", m.Line)
	return nil
}

func (d *decoder) decodeStruct(path string, n *yaml.Node, v reflect.Value, depth int) {
	if n.Kind != yaml.MappingNode {
		d.failValue(path, "expected a mapping of keys, got %s (line %d)", kindName(n), n.Line)
		return
	}
	info := structInfo(v.Type())
	for _, e := range d.entries(path, n, depth) {
		p := joinPath(path, e.key)
		f, ok := info.fields[e.key]
		if !ok {
			if info.inlineMap != nil {
				m := fieldByIndex(v, info.inlineMap)
				d.mapEntry(p, e, m, depth)
				continue
			}
			d.unknownKey(p, e, info.keys)
			continue
		}
		d.decode(p, e.val, fieldByIndex(v, f), depth+1)
	}
}

func (d *decoder) unknownKey(path string, e mapEntry, valid []string) {
	msg := fmt.Sprintf("unknown key (line %d)", e.line)
	if s := suggest(e.key, valid); s != "" {
		msg += "; did you mean " + s + "?"
	} else if len(valid) <= 16 {
		msg += "; valid keys: " + strings.Join(valid, ", ")
	}
	d.fail(path, "%s", msg)
}

func (d *decoder) decodeMap(path string, n *yaml.Node, v reflect.Value, depth int) {
	if n.Kind != yaml.MappingNode {
		d.failValue(path, "expected a mapping of keys, got %s (line %d)", kindName(n), n.Line)
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.failValue(path, "unsupported map key type %s", v.Type().Key())
		return
	}
	for _, e := range d.entries(path, n, depth) {
		d.mapEntry(joinPath(path, e.key), e, v, depth)
	}
}

func (d *decoder) mapEntry(path string, e mapEntry, m reflect.Value, depth int) {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	ev := reflect.New(m.Type().Elem()).Elem()
	d.decode(path, e.val, ev, depth+1)
	m.SetMapIndex(reflect.ValueOf(e.key).Convert(m.Type().Key()), ev)
}

// scalarText expands the environment in a scalar node. ok is false when an error was
// recorded. shown is how the value may appear in an error: quoted, or, when it came from
// the environment, as the ${VAR} reference it came from.
func (d *decoder) scalarText(path, want string, n *yaml.Node) (s, shown string, ok bool) {
	if n.Kind != yaml.ScalarNode {
		d.failValue(path, "expected %s, got %s (line %d)", want, kindName(n), n.Line)
		return "", "", false
	}
	s, fromEnv, err := expand(n.Value, d.getenv)
	if err != nil {
		d.failValue(path, "%v", err)
		return "", "", false
	}
	if len(fromEnv.unset) > 0 {
		for _, name := range fromEnv.unset {
			d.fail(path, "environment variable %s is not set", name)
		}
		d.errPaths = append(d.errPaths, path)
		return "", "", false
	}
	if len(fromEnv.used) == 0 {
		return s, strconv.Quote(clip(s)), true
	}
	if d.secrets == nil {
		d.secrets = map[string]string{}
		d.envPaths = map[string]bool{}
	}
	d.envPaths[path] = true
	d.secrets[s] = n.Value
	for name, val := range fromEnv.used {
		d.secrets[val] = "${" + name + "}"
	}
	return s, "the value of " + clip(n.Value), true
}

func (d *decoder) scalar(path string, n *yaml.Node, v reflect.Value) {
	t := v.Type()
	want := describe(t)
	s, shown, ok := d.scalarText(path, want, n)
	if !ok {
		return
	}
	if t.Kind() != reflect.String && s == "" && strings.Contains(n.Value, "$") {
		v.SetZero() // ${VAR:-} or a set-but-empty variable: not set
		return
	}
	switch {
	case t == durationType:
		dur, err := parseDuration(s)
		if err != nil {
			d.failValue(path, "cannot parse %s as a duration (e.g. 30s, 2m)", shown)
			return
		}
		v.SetInt(int64(dur))
	case t.Kind() == reflect.String:
		v.SetString(s)
	case t.Kind() == reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.failValue(path, "cannot parse %s as true or false", shown)
		}
	case v.CanInt():
		i, err := strconv.ParseInt(s, intBase(s), t.Bits())
		if err != nil {
			d.failValue(path, "%s", numError(shown, "an integer", err))
			return
		}
		v.SetInt(i)
	case v.CanUint():
		u, err := strconv.ParseUint(s, intBase(s), t.Bits())
		if err != nil {
			d.failValue(path, "%s", numError(shown, "a non-negative integer", err))
			return
		}
		v.SetUint(u)
	case v.CanFloat():
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			d.failValue(path, "%s", numError(shown, "a number", err))
			return
		}
		v.SetFloat(f)
	default:
		d.failValue(path, "unsupported type %s", t)
	}
}

// text decodes a scalar into an encoding.TextUnmarshaler.
func (d *decoder) text(path string, n *yaml.Node, v reflect.Value) {
	s, shown, ok := d.scalarText(path, "a single value", n)
	if !ok {
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		if d.envPaths[path] {
			d.failValue(path, "cannot parse %s", shown)
		} else {
			d.failValue(path, "cannot parse %s: %v", shown, err)
		}
	}
}

// custom hands the node to a yaml.Unmarshaler (scalars expanded first; no strictness inside).
func (d *decoder) custom(path string, n *yaml.Node, v reflect.Value) {
	node := n
	if n.Kind == yaml.ScalarNode {
		s, _, ok := d.scalarText(path, "a single value", n)
		if !ok {
			return
		}
		c := *n
		c.Value = s
		node = &c
	}
	if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(node); err != nil {
		if d.envPaths[path] {
			d.failValue(path, "invalid value %s", clip(n.Value))
		} else {
			d.failValue(path, "%v", err)
		}
	}
}

func intBase(s string) int {
	t := strings.TrimLeft(s, "+-")
	if len(t) > 1 && t[0] == '0' && strings.ContainsRune("xXoObB", rune(t[1])) {
		return 0
	}
	return 10
}

func numError(shown, what string, err error) string {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Sprintf("%s is out of range", shown)
	}
	return fmt.Sprintf("cannot parse %s as %s", shown, what)
}

// parseDuration is time.ParseDuration plus a leading whole number of days ("90d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil || days > 10000 {
			return 0, errors.New("bad duration")
		}
		d := time.Duration(days) * 24 * time.Hour
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil || r < 0 {
				return 0, errors.New("bad duration")
			}
			d += r
		}
		return d, nil
	}
	return time.ParseDuration(s)
}

// envUse reports which variables an expansion read.
type envUse struct {
	used  map[string]string // name -> non-empty value substituted
	unset []string
}

// expand replaces ${VAR}, ${VAR:-default} and $$ in s. The result is never scanned again.
func expand(s string, getenv func(string) (string, bool)) (string, envUse, error) {
	var use envUse
	if !strings.Contains(s, "$") {
		return s, use, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c != '$' || i+1 == len(s):
			b.WriteByte(c)
			i++
		case s[i+1] == '$':
			b.WriteByte('$')
			i += 2
		case s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", use, errors.New("unterminated ${ (write $$ for a literal $)")
			}
			expr := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(expr, ":-")
			if !validEnvName(name) {
				return "", use, fmt.Errorf("invalid environment reference ${%s} (use ${NAME} or ${NAME:-default}; $$ for a literal $)", clip(expr))
			}
			val, set := getenv(name)
			switch {
			case set && (val != "" || !hasDef):
				b.WriteString(val)
				if val != "" {
					if use.used == nil {
						use.used = map[string]string{}
					}
					use.used[name] = val
				}
			case hasDef:
				b.WriteString(def)
			default:
				use.unset = append(use.unset, name)
			}
			i += 2 + end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), use, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// covered reports whether a validation error is about a value that already failed to
// decode (it would only repeat that error, about a zero value).
func (d *decoder) covered(err error) bool {
	var fe *conf.FieldError
	if !errors.As(err, &fe) {
		return false
	}
	for _, p := range d.errPaths {
		if fe.Path == p || underPath(fe.Path, p) || underPath(p, fe.Path) {
			return true
		}
	}
	return false
}

func underPath(p, parent string) bool {
	return len(p) > len(parent) && strings.HasPrefix(p, parent) && (p[len(parent)] == '.' || p[len(parent)] == '[')
}

// redact replaces, in every error, any text that came from the environment by the ${VAR}
// reference it came from. Validation messages may quote a value; a secret must not leak.
// In an error about a value that came from the environment every occurrence is replaced;
// elsewhere only quoted ones and those of at least 6 bytes (so that a short value such as
// "5" does not mangle unrelated messages).
func (d *decoder) redact(err error) error {
	if err == nil || len(d.secrets) == 0 {
		return err
	}
	type pair struct {
		from, to string
		always   bool // also in errors about other paths
	}
	var pairs []pair
	for val, ref := range d.secrets {
		q := strconv.Quote(val)
		pairs = append(pairs, pair{q, strconv.Quote(ref), true})
		if inner := q[1 : len(q)-1]; inner != val {
			pairs = append(pairs, pair{inner, ref, len(inner) >= 6})
		}
		pairs = append(pairs, pair{val, ref, len(val) >= 6})
	}
	sort.SliceStable(pairs, func(i, j int) bool {
		if len(pairs[i].from) != len(pairs[j].from) {
			return len(pairs[i].from) > len(pairs[j].from)
		}
		return pairs[i].from < pairs[j].from
	})
	clean := func(s string, all bool) string {
		for _, p := range pairs {
			if all || p.always {
				s = replaceFold(s, p.from, p.to)
			}
		}
		return s
	}
	var out []error
	for _, e := range conf.Flatten(err) {
		var fe *conf.FieldError
		switch {
		case errors.As(e, &fe):
			all := false
			for p := range d.envPaths {
				all = all || fe.Path == p || underPath(p, fe.Path) || underPath(fe.Path, p)
			}
			e = &conf.FieldError{Path: fe.Path, Msg: clean(fe.Msg, all)}
		default:
			if s := clean(e.Error(), false); s != e.Error() {
				e = errors.New(s)
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// replaceFold replaces every occurrence of from in s, ignoring case (error messages may
// lower-case what they quote, e.g. a URL scheme).
func replaceFold(s, from, to string) string {
	ls, lf := strings.ToLower(s), strings.ToLower(from)
	if len(ls) != len(s) || len(lf) != len(from) || lf == "" {
		return strings.ReplaceAll(s, from, to)
	}
	var b strings.Builder
	for {
		i := strings.Index(ls, lf)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(to)
		s, ls = s[i+len(from):], ls[i+len(from):]
	}
}

// sortErrors orders errors by YAML path (list indexes numerically), then message, so the
// output is stable whatever order they were found in.
func sortErrors(err error) error {
	if err == nil {
		return nil
	}
	list := conf.Flatten(err)
	key := func(e error) (string, string) {
		var fe *conf.FieldError
		if errors.As(e, &fe) {
			return fe.Path, fe.Msg
		}
		return "", e.Error()
	}
	sort.SliceStable(list, func(i, j int) bool {
		pi, mi := key(list[i])
		pj, mj := key(list[j])
		if pi != pj {
			return naturalLess(pi, pj)
		}
		return mi < mj
	})
	return errors.Join(list...)
}

// naturalLess compares strings with runs of digits compared as numbers ("a[2]" < "a[10]").
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// fieldsInfo maps the yaml keys of a struct type to field index paths.
type fieldsInfo struct {
	fields    map[string][]int
	keys      []string // in declaration order
	inlineMap []int    // a ",inline" map collecting the other keys, if any
}

var infoCache sync.Map // reflect.Type -> *fieldsInfo

func structInfo(t reflect.Type) *fieldsInfo {
	if fi, ok := infoCache.Load(t); ok {
		return fi.(*fieldsInfo)
	}
	fi := &fieldsInfo{fields: map[string][]int{}}
	collectFields(t, nil, fi)
	infoCache.Store(t, fi)
	return fi
}

func collectFields(t reflect.Type, index []int, fi *fieldsInfo) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		inline := false
		for _, o := range strings.Split(opts, ",") {
			inline = inline || o == "inline"
		}
		idx := append(append([]int(nil), index...), i)
		if inline {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				collectFields(ft, idx, fi)
			case reflect.Map:
				fi.inlineMap = idx
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, dup := fi.fields[name]; dup {
			continue
		}
		fi.fields[name] = idx
		fi.keys = append(fi.keys, name)
	}
}

// fieldByIndex is reflect.Value.FieldByIndex allocating nil embedded pointers.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// suggest returns the valid key closest to key, if it is close enough to be a typo.
func suggest(key string, valid []string) string {
	best, bestDist := "", 3
	for _, k := range valid {
		if dist := editDistance(key, k); dist < bestDist && dist*3 <= len(k) {
			best, bestDist = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// joinPath appends a mapping key to a YAML path; odd keys are quoted.
func joinPath(path, key string) string {
	if !plainKey(key) {
		key = "[" + strconv.Quote(clip(key)) + "]"
		return path + key
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "a single value"
}

func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return "a single value"
}
