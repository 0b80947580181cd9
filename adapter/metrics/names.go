package metrics

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// This file holds what the sources share about names: the sanitizer, the
// units, the $n templates of mapped names and labels, and the globs of the
// StatsD and text mappings.

const (
	// metricsMaxNameBytes bounds a metric or label name made from the
	// application's data; a longer one is dropped as invalid.
	metricsMaxNameBytes = 256
	// metricsMaxValueBytes bounds a label value; a series with a longer
	// one is dropped as invalid.
	metricsMaxValueBytes = 1024
	// metricsMaxLabels bounds the labels of a series.
	metricsMaxLabels = 32
	// metricsOwnPrefix starts the adapter's own metrics; the sources'
	// series may not use it.
	metricsOwnPrefix = "podkit_adapter_"
)

// metricsSanitize turns s, a key or a part of one, into a part of a metric
// or label name in snake_case: ASCII letters are lower-cased, with an
// underscore where camelCase starts a word ("requestCount" gives
// "request_count"); any other byte but digits becomes an underscore, runs
// of underscores become one, and leading and trailing ones go. The result
// is empty if s has no letter or digit; the caller prefixes a leading digit.
func metricsSanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	under := true // drop leading underscores
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 && !under {
				prev := s[i-1]
				nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
				if (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9') ||
					(prev >= 'A' && prev <= 'Z' && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteByte(c + 'a' - 'A')
			under = false
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
			under = false
		default:
			if !under {
				b.WriteByte('_')
				under = true
			}
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// metricsSanitizeName returns s sanitized as a whole metric or label name,
// or "" if nothing valid is left.
func metricsSanitizeName(s string) string {
	n := metricsSanitize(s)
	if n == "" {
		return ""
	}
	if n[0] >= '0' && n[0] <= '9' {
		n = "_" + n
	}
	if len(n) > metricsMaxNameBytes {
		return ""
	}
	return n
}

// metricsValidName says whether name is a metric name in the classic
// character set, which every scraper accepts.
func metricsValidName(name string) bool {
	return len(name) <= metricsMaxNameBytes && model.LegacyValidation.IsValidMetricName(name)
}

// metricsValidLabelName says whether name is a label name a source may
// set: the classic character set, not reserved ("__" prefix).
func metricsValidLabelName(name string) bool {
	return len(name) <= metricsMaxNameBytes && model.LegacyValidation.IsValidLabelName(name) &&
		!strings.HasPrefix(name, "__")
}

func metricsValidUTF8(s string) bool { return utf8.ValidString(s) }

// metricsLabelValue makes v a label value: invalid UTF-8 is replaced, and
// ok is false if it is too long.
func metricsLabelValue(v string) (string, bool) {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	return v, len(v) <= metricsMaxValueBytes
}

// metricsUnit is a unit a mapping may declare: values are multiplied by
// factor, and the name ends with "_" + base.
type metricsUnit struct {
	base   string
	factor float64
}

// metricsUnits are the units that are converted to a base unit; any other
// lower-case word is a base unit of its own ("celsius", "meters",
// "requests").
var metricsUnits = map[string]metricsUnit{
	"s": {"seconds", 1}, "seconds": {"seconds", 1},
	"ms": {"seconds", 1e-3}, "milliseconds": {"seconds", 1e-3},
	"us": {"seconds", 1e-6}, "microseconds": {"seconds", 1e-6},
	"ns": {"seconds", 1e-9}, "nanoseconds": {"seconds", 1e-9},
	"minutes": {"seconds", 60}, "hours": {"seconds", 3600}, "days": {"seconds", 86400},
	"B": {"bytes", 1}, "bytes": {"bytes", 1},
	"KB": {"bytes", 1e3}, "kilobytes": {"bytes", 1e3}, "KiB": {"bytes", 1 << 10}, "kibibytes": {"bytes", 1 << 10},
	"MB": {"bytes", 1e6}, "megabytes": {"bytes", 1e6}, "MiB": {"bytes", 1 << 20}, "mebibytes": {"bytes", 1 << 20},
	"GB": {"bytes", 1e9}, "gigabytes": {"bytes", 1e9}, "GiB": {"bytes", 1 << 30}, "gibibytes": {"bytes", 1 << 30},
	"bits":  {"bytes", 1.0 / 8},
	"ratio": {"ratio", 1}, "percent": {"ratio", 0.01},
}

// metricsParseUnit parses a mapping's unit; "" is none.
func metricsParseUnit(u string) (metricsUnit, error) {
	if u == "" {
		return metricsUnit{factor: 1}, nil
	}
	if mu, ok := metricsUnits[u]; ok {
		return mu, nil
	}
	for i := 0; i < len(u); i++ {
		if u[i] < 'a' || u[i] > 'z' {
			return metricsUnit{}, fmt.Errorf("%q is not a known unit nor a lower-case word", u)
		}
	}
	return metricsUnit{base: u, factor: 1}, nil
}

// metricsFinalName applies the naming rules to a valid name: it ends with
// "_<unit>" when a unit is set (before "_total"), and a counter's ends with
// "_total".
func metricsFinalName(name string, typ Type, unit string) string {
	stem := name
	if typ == Counter {
		stem = strings.TrimSuffix(stem, "_total")
	}
	if unit != "" && !strings.HasSuffix(stem, "_"+unit) {
		stem += "_" + unit
	}
	if typ == Counter {
		return stem + "_total"
	}
	return stem
}

// metricsTemplate is a string with references to the captures of a
// wildcard match: "$1" or "${1}" is the first capture, "$$" a dollar sign.
type metricsTemplate struct {
	parts []metricsTemplatePart
	max   int // the highest capture referred to
}

type metricsTemplatePart struct {
	literal string
	capture int // 1-based; 0 for a literal
}

func metricsParseTemplate(s string) (metricsTemplate, error) {
	var t metricsTemplate
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, metricsTemplatePart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		var digits string
		switch {
		case strings.HasPrefix(rest, "$"):
			lit.WriteByte('$')
			i++
			continue
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return t, fmt.Errorf("%q: unclosed ${", s)
			}
			digits = rest[1:end]
			i += end + 1
		default:
			n := 0
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
			digits = rest[:n]
			i += n
		}
		k, err := strconv.Atoi(digits)
		if err != nil || k < 1 || k > 99 {
			return t, fmt.Errorf("%q: $ must be followed by a capture number (1-99), ${n} or $", s)
		}
		flush()
		t.parts = append(t.parts, metricsTemplatePart{capture: k})
		t.max = max(t.max, k)
	}
	flush()
	return t, nil
}

// literal returns the template's text if it has no capture.
func (t metricsTemplate) literal() (string, bool) {
	if t.max > 0 {
		return "", false
	}
	if len(t.parts) == 0 {
		return "", true
	}
	return t.parts[0].literal, true
}

// expand writes the template with captures; fix, when set, transforms each
// capture first.
func (t metricsTemplate) expand(captures []string, fix func(string) string) string {
	if len(t.parts) == 1 && t.parts[0].capture == 0 {
		return t.parts[0].literal
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.capture == 0 {
			b.WriteString(p.literal)
			continue
		}
		if c := captures[p.capture-1]; fix != nil {
			b.WriteString(fix(c))
		} else {
			b.WriteString(c)
		}
	}
	return b.String()
}

// metricsNameTemplate is a mapping's metric name: a template whose result
// is a valid name, with the naming rules applied.
type metricsNameTemplate struct {
	t    metricsTemplate
	name string // the final name, when the template has no capture
	typ  Type
	unit string
}

// metricsParseNameTemplate checks a mapped name: its literal parts must
// make a valid name, whatever the captures hold.
func metricsParseNameTemplate(s string, typ Type, unit string, captures int) (metricsNameTemplate, error) {
	t, err := metricsParseTemplate(s)
	if err != nil {
		return metricsNameTemplate{}, err
	}
	if t.max > captures {
		return metricsNameTemplate{}, fmt.Errorf("%q refers to $%d, and the match has %d wildcards", s, t.max, captures)
	}
	nt := metricsNameTemplate{t: t, typ: typ, unit: unit}
	probe := t.expand(make([]string, t.max), func(string) string { return "x" })
	if !metricsValidName(probe) {
		return nt, fmt.Errorf("%q is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", s)
	}
	if strings.HasPrefix(probe, metricsOwnPrefix) {
		return nt, fmt.Errorf("%q: the prefix %s is the adapter's own", s, metricsOwnPrefix)
	}
	if lit, ok := t.literal(); ok {
		nt.name = metricsFinalName(lit, typ, unit)
	}
	return nt, nil
}

// expand returns the name for captures, or "" if they make it invalid.
func (nt metricsNameTemplate) expand(captures []string) string {
	if nt.name != "" {
		return nt.name
	}
	base := nt.base(captures)
	if base == "" {
		return ""
	}
	// The suffixes may make it too long.
	if n := metricsFinalName(base, nt.typ, nt.unit); metricsValidName(n) {
		return n
	}
	return ""
}

// base returns the name for captures before the naming rules, or "" if
// they make it invalid: a capture is sanitized, and one that is left
// empty makes the name invalid.
func (nt metricsNameTemplate) base(captures []string) string {
	empty := false
	n := nt.t.expand(captures, func(c string) string {
		c = metricsSanitize(c)
		empty = empty || c == ""
		return c
	})
	if empty {
		// A capture with nothing valid in it names nothing.
		return ""
	}
	if n != "" && n[0] >= '0' && n[0] <= '9' {
		n = "_" + n
	}
	if !metricsValidName(n) {
		return ""
	}
	return n
}

// metricsLabelTemplate is a label of a mapping, whose value may refer to
// captures.
type metricsLabelTemplate struct {
	name  string
	value metricsTemplate
}

// metricsParseLabels checks a mapping's labels, sorted by name.
func metricsParseLabels(labels map[string]string, captures int) ([]metricsLabelTemplate, error) {
	var out []metricsLabelTemplate
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		if !metricsValidLabelName(name) {
			return nil, fmt.Errorf("%q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", name)
		}
		t, err := metricsParseTemplate(labels[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if t.max > captures {
			return nil, fmt.Errorf("%s: %q refers to $%d, and the match has %d wildcards", name, labels[name], t.max, captures)
		}
		out = append(out, metricsLabelTemplate{name: name, value: t})
	}
	if len(out) > metricsMaxLabels {
		return nil, fmt.Errorf("more than %d", metricsMaxLabels)
	}
	return out, nil
}

// metricsGlob matches dot-separated names ("api.users.get"): the pattern
// has as many components as the name, each a literal or a glob where "*"
// matches one or more characters other than '.'; with several "*" in a
// component, the earlier ones match as little as they can. Each "*" is a
// capture, $1 the leftmost.
type metricsGlob struct {
	components [][]string // each component split at its "*"s
	wildcards  int
}

func metricsParseGlob(pattern string) (metricsGlob, error) {
	var g metricsGlob
	if pattern == "" {
		return g, errors.New("empty")
	}
	for _, c := range strings.Split(pattern, ".") {
		if c == "" {
			return g, fmt.Errorf("%q has an empty component", pattern)
		}
		if strings.Contains(c, "**") {
			return g, fmt.Errorf("%q: ** is not supported; each * matches within a component", pattern)
		}
		parts := strings.Split(c, "*")
		g.components = append(g.components, parts)
		g.wildcards += len(parts) - 1
	}
	return g, nil
}

// match matches name, appending the captures to caps.
func (g metricsGlob) match(name string, caps []string) ([]string, bool) {
	for i, parts := range g.components {
		var comp string
		if i == len(g.components)-1 {
			comp = name
			if strings.IndexByte(comp, '.') >= 0 {
				return caps, false
			}
		} else {
			dot := strings.IndexByte(name, '.')
			if dot < 0 {
				return caps, false
			}
			comp, name = name[:dot], name[dot+1:]
		}
		var ok bool
		if caps, ok = metricsGlobComponent(parts, comp, caps); !ok {
			return caps, false
		}
	}
	return caps, true
}

// metricsGlobComponent matches one component against parts, the pattern
// split at its "*"s.
func metricsGlobComponent(parts []string, s string, caps []string) ([]string, bool) {
	if len(parts) == 1 {
		return caps, s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return caps, false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range parts[1 : len(parts)-1] {
		// The "*" before mid takes at least one byte.
		if len(s) < 1 {
			return caps, false
		}
		j := strings.Index(s[1:], mid)
		if j < 0 {
			return caps, false
		}
		caps = append(caps, s[:j+1])
		s = s[j+1+len(mid):]
	}
	if s == "" {
		return caps, false
	}
	return append(caps, s), true
}

// metricsFinite says whether v is neither NaN nor infinite.
func metricsFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
