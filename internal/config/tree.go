package config

import (
	"math"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// YAML tags of the node kinds the tree walk cares about.
const (
	tagStr  = "!!str"
	tagNull = "!!null"
	tagBool = "!!bool"
	tagInt  = "!!int"
	tagFlt  = "!!float"
)

var durationType = reflect.TypeFor[time.Duration]()

// preparer walks the parsed YAML tree once, before anything is decoded:
// it expands ${ENV} references in scalar values, gives substituted scalars
// the type their Go field expects, drops keys whose value is null (they mean
// "use the default"), notes duplicate and unknown keys, and records the line
// of every path so problems can be reported in document order.
//
// Interpolating node values rather than the raw text is what keeps an
// environment value from changing the document's structure: whatever it
// contains (": ", "\n- x", "{a: b}") it only ever becomes one scalar.
type preparer struct {
	env      lookupEnv
	problems *problems
	done     map[*yaml.Node]bool // scalars already expanded (anchors reached twice)
	hints    map[string]string   // path of an unknown key -> "did you mean" text
}

func (p *preparer) node(n *yaml.Node, typ reflect.Type, path string) {
	if _, ok := p.problems.lines[path]; !ok {
		p.problems.lines[path] = n.Line
	}
	switch n.Kind {
	case yaml.ScalarNode:
		p.scalar(n, typ, path)
	case yaml.MappingNode:
		p.mapping(n, typ, path)
	case yaml.SequenceNode:
		var elem reflect.Type
		if typ != nil && typ.Kind() == reflect.Slice {
			elem = typ.Elem()
		}
		for i, item := range n.Content {
			p.node(item, elem, indexPath(path, i))
		}
	case yaml.AliasNode:
		// The anchored node was prepared where it was defined: YAML requires
		// an anchor to precede its aliases, and expanding it twice would
		// undo "$$" escapes.
	}
}

func (p *preparer) scalar(n *yaml.Node, typ reflect.Type, path string) {
	if p.done[n] {
		return
	}
	p.done[n] = true
	expanded, errs := interpolate(n.Value, p.env)
	for _, e := range errs {
		p.problems.add(path, "%s", e)
	}
	changed := expanded != n.Value
	n.Value = expanded

	// An explicit tag (!!str ${X}) is the user saying what the type is.
	if n.Style&yaml.TaggedStyle != 0 {
		return
	}
	switch {
	case typ == durationType:
		// "0" and "10s" alike are duration strings, never integers.
		n.Tag = tagStr
	case !changed:
		// A literal keeps the type YAML gives it; the schema judges it.
	case typ != nil && typ.Kind() == reflect.String:
		// A substituted API key that happens to look like a number or
		// "true" is still a string.
		n.Tag = tagStr
	default:
		// A substituted value takes the type of its field, whether or not
		// the reference was quoted (people quote "${VAR}" out of habit):
		// ${MAX_USERS:-500} is an integer, "${TLS:-false}" a boolean. The
		// text is resolved as a plain scalar, which can only ever yield a
		// scalar, so the document's structure is still out of its reach.
		n.Tag = ""
		n.Style = 0
	}
}

func (p *preparer) mapping(n *yaml.Node, typ reflect.Type, path string) {
	var fields map[string]reflect.Type
	if typ != nil && typ.Kind() == reflect.Struct {
		fields = yamlFields(typ)
	}
	seen := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		name := key.Value
		keyPath := childPath(path, name)
		if name == "<<" && key.Tag == "!!merge" {
			p.problems.add(keyPath, "merge keys (<<) are not supported (line %d)", key.Line)
			continue
		}
		if first, dup := seen[name]; dup {
			p.problems.add(keyPath, "duplicate key (line %d, first at line %d)", key.Line, first)
			continue
		}
		seen[name] = key.Line
		var ftyp reflect.Type
		if fields != nil {
			var known bool
			if ftyp, known = fields[name]; !known {
				p.hints[keyPath] = suggest(name, fields)
			}
		}
		p.node(val, ftyp, keyPath)
		if val.Kind == yaml.ScalarNode && val.ShortTag() == tagNull {
			// "key:" with no value, or ~, or an empty ${VAR}: the default.
			continue
		}
		kept = append(kept, key, val)
	}
	n.Content = kept
}

// yamlFields maps the YAML key of each field of struct type t to its type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// suggest returns a "did you mean" hint for an unknown key, or "".
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestDist := "", 3 // more than two edits away is no longer a typo
	for name := range fields {
		if d := editDistance(normKey(key), normKey(name)); d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	if best == "" || bestDist >= len(key) {
		return ""
	}
	return "did you mean " + best + "?"
}

// normKey makes "groupId", "group-id" and "group_id" compare equal.
func normKey(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
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

// maxInstanceNodes bounds how many nodes toInstance materialises, so a
// document of nested aliases ("billion laughs") cannot exhaust memory.
const maxInstanceNodes = 100_000

// instanceBuilder turns the prepared YAML tree into the plain Go values
// (map[string]any, []any, string, bool, int64, float64, nil) that the JSON
// Schema validator understands.
type instanceBuilder struct {
	budget int
}

func (ib *instanceBuilder) value(n *yaml.Node) (any, bool) {
	ib.budget--
	if ib.budget < 0 {
		return nil, false
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, true
		}
		return ib.value(n.Content[0])
	case yaml.AliasNode:
		return ib.value(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, ok := ib.value(n.Content[i+1])
			if !ok {
				return nil, false
			}
			m[n.Content[i].Value] = v
		}
		return m, true
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, ok := ib.value(item)
			if !ok {
				return nil, false
			}
			s = append(s, v)
		}
		return s, true
	default:
		return scalarValue(n), true
	}
}

// scalarValue converts one scalar by its resolved tag. Anything that is not
// null, bool, int or float (timestamps, binary, custom tags) is kept as its
// text, which is what decoding into the config's string fields does too.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case tagNull:
		return nil
	case tagBool:
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case tagInt:
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case tagFlt:
		// NaN and infinities have no JSON counterpart; as text they fail
		// the schema's "number" check with a clear message.
		var f float64
		if n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
	return n.Value
}
