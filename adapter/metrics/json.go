package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
)

// JSONSource reads a JSON document over HTTP at each scrape, the
// application's own stats endpoint (such as /stats, /debug/vars or
// /status?format=json), and maps values in it to metrics. A source that
// does not answer 200, within the scrape timeout, with at most
// MaxResponseBytes of a well-formed document is down for that scrape;
// a malformed document also counts as a parse error.
type JSONSource struct {
	// Address is the application's host:port: "127.0.0.1:8080", in the
	// pod's network namespace in-process. Required.
	Address string `json:"address"`
	// Path is the URL's path, and query if any. Empty means "/".
	Path string `json:"path,omitempty"`
	// Mappings select the values and name them. At least one.
	Mappings []JSONMapping `json:"mappings"`
}

// JSONMapping maps the values at a path of a JSON document to a metric.
//
// Path is a simple path, a subset of JSONPath, that may select many
// values:
//
//	a.b.c          key c of key b of key a; a leading "$" or "$." is allowed
//	a[0].b         key b of the first element of array a; [-1] is the last
//	a["x.y"]       a key in brackets, as a JSON string, for keys with
//	               '.', '[' or other special characters
//	a.*.b, a[*].b  * is any key of an object or element of an array; [*]
//	               any element of an array. Each wildcard captures the key,
//	               or the index in decimal, for $1, $2... in Name and Labels
//	""             the document itself
//
// A selected value is a number, a boolean (1 or 0), or a string holding a
// number; null and missing keys give no series; anything else (an object,
// text) is a parse error.
type JSONMapping struct {
	// Path selects the values. Required.
	Path string `json:"path"`
	// Name is the metric's name. $n refers to the nth wildcard's capture,
	// which is sanitized (snake_case, [a-z0-9_]). Counters get "_total",
	// and a Unit its base unit's suffix, if the name lacks them. Required;
	// it may not start with podkit_adapter_.
	Name string `json:"name"`
	// Type is Counter or Gauge; empty means gauge.
	Type Type `json:"type,omitempty"`
	// Help is the metric's HELP text. Empty means one naming the path.
	Help string `json:"help,omitempty"`
	// Unit is the unit of the values. Time and sizes are converted to
	// seconds and bytes ("ms", "milliseconds", "us", "ns", "minutes",
	// "KiB", "MB", ...) and percents to ratios ("percent"); any other
	// lower-case word ("celsius") is a base unit. The name then ends with
	// the base unit ("_seconds"), which is the metric's OpenMetrics UNIT.
	// Empty means none.
	Unit string `json:"unit,omitempty"`
	// Labels are the series' labels; a value may refer to captures
	// ("$1"), whose invalid UTF-8 is replaced.
	Labels map[string]string `json:"labels,omitempty"`
}

// metricsJSONConfig is a checked JSONSource.
type metricsJSONConfig struct {
	url      string
	mappings []metricsJSONMapping
}

type metricsJSONMapping struct {
	path   []metricsJSONStep
	name   metricsNameTemplate
	typ    Type
	help   string
	unit   metricsUnit
	labels []metricsLabelTemplate
}

func (s *JSONSource) compile(field string) (*metricsJSONConfig, error) {
	url, err := metricsURL(field, s.Address, s.Path)
	if err != nil {
		return nil, err
	}
	c := &metricsJSONConfig{url: url}
	if len(s.Mappings) == 0 {
		return nil, metricsErrorf(field+".mappings", "at least one is required")
	}
	for i, m := range s.Mappings {
		f := fmt.Sprintf("%s.mappings[%d]", field, i)
		path, wildcards, err := metricsParseJSONPath(m.Path)
		if err != nil {
			return nil, metricsErrorf(f+".path", "%v", err)
		}
		typ, unit, labels, name, err := metricsCompileMapping(f, m.Name, m.Type, m.Unit, m.Labels, wildcards)
		if err != nil {
			return nil, err
		}
		help := m.Help
		if help == "" {
			help = fmt.Sprintf("The value of %q in the JSON document of %s.", m.Path, url)
		}
		c.mappings = append(c.mappings, metricsJSONMapping{path: path, name: name, typ: typ, help: help,
			unit: unit, labels: labels})
	}
	return c, nil
}

// metricsURL checks an HTTP source's address and path and returns its URL.
func metricsURL(field, address, path string) (string, error) {
	if address == "" {
		return "", metricsErrorf(field+".address", "required")
	}
	if _, _, err := net.SplitHostPort(address); err != nil {
		return "", metricsErrorf(field+".address", "%q: %v", address, err)
	}
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return "", metricsErrorf(field+".path", "%q does not start with /", path)
	}
	return "http://" + address + path, nil
}

// metricsCompileMapping checks the fields a JSON and a text mapping share.
func metricsCompileMapping(field, name string, typ Type, unit string, labels map[string]string,
	wildcards int) (Type, metricsUnit, []metricsLabelTemplate, metricsNameTemplate, error) {
	fail := func(err error) (Type, metricsUnit, []metricsLabelTemplate, metricsNameTemplate, error) {
		return "", metricsUnit{}, nil, metricsNameTemplate{}, err
	}
	switch typ {
	case "":
		typ = Gauge
	case Counter, Gauge:
	default:
		return fail(metricsErrorf(field+".type", "%q is not counter or gauge", typ))
	}
	u, err := metricsParseUnit(unit)
	if err != nil {
		return fail(metricsErrorf(field+".unit", "%v", err))
	}
	if name == "" {
		return fail(metricsErrorf(field+".name", "required"))
	}
	nt, err := metricsParseNameTemplate(name, typ, u.base, wildcards)
	if err != nil {
		return fail(metricsErrorf(field+".name", "%v", err))
	}
	ls, err := metricsParseLabels(labels, wildcards)
	if err != nil {
		return fail(metricsErrorf(field+".labels", "%v", err))
	}
	return typ, u, ls, nt, nil
}

// scraper returns the source's scrape function, and what to call when the
// adapter stops.
func (c *metricsJSONConfig) scraper(env metricsEnv, source string, max int64) (func(context.Context, *metricsEmitter) error, func()) {
	client := env.httpClient()
	return func(ctx context.Context, e *metricsEmitter) error {
		body, err := metricsFetch(ctx, client, c.url, "application/json", max)
		if err != nil {
			if _, ok := errors.AsType[*metricsTooLargeError](err); ok {
				e.stats.parseErrors.Add(1)
			}
			return err
		}
		doc, err := metricsDecodeJSON(body)
		if err != nil {
			e.stats.parseErrors.Add(1)
			return fmt.Errorf("GET %s: malformed JSON: %w", c.url, err)
		}
		c.emit(doc, e)
		return nil
	}, client.CloseIdleConnections
}

// metricsDecodeJSON decodes one JSON document, numbers kept as text.
func metricsDecodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the document")
	}
	return doc, nil
}

// emit emits the series the mappings select in doc.
func (c *metricsJSONConfig) emit(doc any, e *metricsEmitter) {
	var caps []string
	for i := range c.mappings {
		m := &c.mappings[i]
		metricsWalkJSON(doc, m.path, caps[:0], func(v any, caps []string) {
			value, ok, err := metricsJSONNumber(v)
			if err != nil {
				e.stats.parseErrors.Add(1)
				return
			}
			if !ok {
				return
			}
			s := metricsSample{name: m.name.expand(caps), typ: m.typ, help: m.help, unit: m.unit.base,
				value: value * m.unit.factor, labels: metricsExpandLabels(m.labels, caps)}
			e.emit(&s)
		})
	}
}

// metricsExpandLabels returns a mapping's labels for captures.
func metricsExpandLabels(labels []metricsLabelTemplate, caps []string) []metricsLabel {
	if len(labels) == 0 {
		return nil
	}
	out := make([]metricsLabel, len(labels))
	for i, l := range labels {
		out[i] = metricsLabel{name: l.name, value: l.value.expand(caps, nil)}
	}
	return out
}

// metricsJSONNumber returns a selected value as a number; ok is false for
// null.
func metricsJSONNumber(v any) (value float64, ok bool, err error) {
	switch v := v.(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil, err
	case bool:
		if v {
			return 1, true, nil
		}
		return 0, true, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil, err
	}
	return 0, false, fmt.Errorf("%T is not a number", v)
}

// metricsJSONStep is a step of a JSON path.
type metricsJSONStep struct {
	kind  metricsJSONStepKind
	key   string
	index int
}

type metricsJSONStepKind uint8

const (
	metricsJSONKey     metricsJSONStepKind = iota // an object's key
	metricsJSONIndex                              // an array's element
	metricsJSONAny                                // any key or element
	metricsJSONElement                            // any element of an array
)

// metricsParseJSONPath parses a path (see JSONMapping) and returns its
// steps and number of wildcards.
func metricsParseJSONPath(s string) ([]metricsJSONStep, int, error) {
	var steps []metricsJSONStep
	wildcards := 0
	i := 0
	if strings.HasPrefix(s, "$") {
		i = 1
		if i < len(s) && s[i] != '.' && s[i] != '[' {
			return nil, 0, fmt.Errorf("%q: $ must be followed by . or [", s)
		}
	}
	first := i == 0
	for i < len(s) {
		switch {
		case s[i] == '[':
			end, step, err := metricsParseJSONBracket(s, i)
			if err != nil {
				return nil, 0, err
			}
			if step.kind == metricsJSONElement {
				wildcards++
			}
			steps = append(steps, step)
			i = end
		case s[i] == '.' || first:
			if !first {
				i++
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			key := s[i:j]
			switch {
			case key == "":
				return nil, 0, fmt.Errorf("%q: empty key at offset %d (quote keys as [\"key\"])", s, i)
			case key == "*":
				steps = append(steps, metricsJSONStep{kind: metricsJSONAny})
				wildcards++
			case strings.ContainsAny(key, "]\"'"):
				return nil, 0, fmt.Errorf("%q: key %q must be quoted, as [\"key\"]", s, key)
			default:
				steps = append(steps, metricsJSONStep{kind: metricsJSONKey, key: key})
			}
			i = j
		default:
			return nil, 0, fmt.Errorf("%q: unexpected %q at offset %d", s, s[i], i)
		}
		first = false
	}
	if wildcards > 99 {
		return nil, 0, fmt.Errorf("%q: more than 99 wildcards", s)
	}
	return steps, wildcards, nil
}

// metricsParseJSONBracket parses the bracket at s[i].
func metricsParseJSONBracket(s string, i int) (int, metricsJSONStep, error) {
	rest := s[i+1:]
	if strings.HasPrefix(rest, "\"") {
		// A JSON string: find its closing quote.
		j := 1
		for j < len(rest) && rest[j] != '"' {
			if rest[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(rest) || j+1 >= len(rest) || rest[j+1] != ']' {
			return 0, metricsJSONStep{}, fmt.Errorf("%q: unterminated [\"key\"] at offset %d", s, i)
		}
		var key string
		if err := json.Unmarshal([]byte(rest[:j+1]), &key); err != nil {
			return 0, metricsJSONStep{}, fmt.Errorf("%q: bad quoted key at offset %d: %v", s, i, err)
		}
		return i + 1 + j + 2, metricsJSONStep{kind: metricsJSONKey, key: key}, nil
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, metricsJSONStep{}, fmt.Errorf("%q: unterminated [ at offset %d", s, i)
	}
	inner := rest[:end]
	if inner == "*" {
		return i + end + 2, metricsJSONStep{kind: metricsJSONElement}, nil
	}
	n, err := strconv.Atoi(inner)
	if err != nil || len(inner) > 10 {
		return 0, metricsJSONStep{}, fmt.Errorf("%q: [%s] at offset %d is not an index, * or a quoted key", s, inner, i)
	}
	return i + end + 2, metricsJSONStep{kind: metricsJSONIndex, index: n}, nil
}

// metricsWalkJSON calls fn with each value steps select in v, and the
// captures of the wildcards on its way, appended to caps. Object keys are
// visited in order, so that a cap drops the same series at each scrape.
func metricsWalkJSON(v any, steps []metricsJSONStep, caps []string, fn func(v any, caps []string)) {
	if len(steps) == 0 {
		fn(v, caps)
		return
	}
	step, rest := steps[0], steps[1:]
	switch step.kind {
	case metricsJSONKey:
		if obj, ok := v.(map[string]any); ok {
			if child, ok := obj[step.key]; ok {
				metricsWalkJSON(child, rest, caps, fn)
			}
		}
	case metricsJSONIndex:
		if arr, ok := v.([]any); ok {
			i := step.index
			if i < 0 {
				i += len(arr)
			}
			if i >= 0 && i < len(arr) {
				metricsWalkJSON(arr[i], rest, caps, fn)
			}
		}
	case metricsJSONAny, metricsJSONElement:
		switch v := v.(type) {
		case map[string]any:
			if step.kind == metricsJSONElement {
				return
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				metricsWalkJSON(v[k], rest, append(caps, k), fn)
			}
		case []any:
			for i, child := range v {
				metricsWalkJSON(child, rest, append(caps, strconv.Itoa(i)), fn)
			}
		}
	}
}
