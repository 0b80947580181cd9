package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TextSource reads "key value" lines over HTTP at each scrape: the
// plain-text status pages of many servers (Redis' INFO, a /vars page).
// See TextRules for the format. A source that does not answer 200, within
// the scrape timeout, with at most MaxResponseBytes is down for that scrape.
type TextSource struct {
	// Address is the application's host:port: "127.0.0.1:8080", in the
	// pod's network namespace in-process. Required.
	Address string `json:"address"`
	// Path is the URL's path, and query if any. Empty means "/".
	Path string `json:"path,omitempty"`
	TextRules
}

// CommandSource runs a command at each scrape and reads its standard
// output as "key value" lines (see TextRules), like a Nagios-style check
// or `varnishstat -1`. In-process the command runs in a container of the
// pod, as pod.Pod.Exec does (its namespaces, filesystem and environment);
// outside a pod, the process form, it runs where the adapter runs. A
// command that does not exit 0 within the scrape timeout (it is then
// killed), or writes more than MaxResponseBytes, is a failed scrape of the
// source.
type CommandSource struct {
	// Container names the pod's container the command runs in; it must be
	// a process, not an in-process container. Required.
	Container string `json:"container"`
	// Command is the command and its arguments: []string{"sh", "-c",
	// "echo requests $(cat /run/app/count)"}. Required.
	Command []string `json:"command"`
	TextRules
}

// TextRules say how lines of text become metrics. Each line is a key, a
// separator (spaces or tabs, '=' or ':', optionally surrounded by spaces)
// and a number as Go's strconv.ParseFloat reads it ("42", "-1.5e3",
// "NaN"): "requests 42", "requests=42", "uptime_seconds: 3600". Blank lines
// and lines starting with '#' are skipped; any other line that does not
// parse, or longer than 64 KiB, is a parse error, and the others are still
// read. A value that is not a number ("redis_version:7.2.4") is a parse
// error too, unless the key is dropped (a Drop mapping, or DropUnmapped):
// the value is read only for the keys that are kept.
//
// A key takes the first of Mappings that matches it. A key no mapping
// matches is a gauge whose name is Prefix and the key sanitized
// (snake_case, [a-z0-9_]: "bytes.sent" and "bytesSent" give "bytes_sent"),
// unless DropUnmapped is set; a key with no letter or digit is dropped as
// invalid.
type TextRules struct {
	// Prefix starts the name of an unmapped key: "redis_". It holds only
	// [a-zA-Z0-9_].
	Prefix string `json:"prefix,omitempty"`
	// Mappings match keys and name them.
	Mappings []TextMapping `json:"mappings,omitempty"`
	// DropUnmapped drops the keys no mapping matches, counted as dropped
	// series with reason "unmapped".
	DropUnmapped bool `json:"dropUnmapped,omitempty"`
}

// TextMapping maps the keys of lines that match a glob to a metric.
type TextMapping struct {
	// Match is a glob on the key: its dot-separated components match the
	// key's, and "*" matches one or more characters other than '.', with
	// each "*" a capture for $1, $2... in Name and Labels:
	// "db*_keys" matches "db0_keys", "cache.*.hits" matches
	// "cache.users.hits". Required.
	Match string `json:"match"`
	// Drop drops the matching keys (counted as dropped series with reason
	// "unmapped"); the other fields must then be empty.
	Drop bool `json:"drop,omitempty"`
	// Name, Type, Help, Unit and Labels are as in a JSONMapping. Name is
	// required unless Drop is set.
	Name   string            `json:"name,omitempty"`
	Type   Type              `json:"type,omitempty"`
	Help   string            `json:"help,omitempty"`
	Unit   string            `json:"unit,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// metricsMaxTextLine bounds a line of text.
const metricsMaxTextLine = 64 << 10

// metricsTextRules are checked TextRules.
type metricsTextRules struct {
	prefix       string
	mappings     []metricsTextMapping
	dropUnmapped bool
	where        string // the URL or command, for the default help
}

type metricsTextMapping struct {
	glob   metricsGlob
	drop   bool
	name   metricsNameTemplate
	typ    Type
	help   string
	unit   metricsUnit
	labels []metricsLabelTemplate
}

// metricsTextConfig is a checked TextSource.
type metricsTextConfig struct {
	url   string
	rules metricsTextRules
}

// metricsCommandConfig is a checked CommandSource.
type metricsCommandConfig struct {
	container string
	argv      []string
	rules     metricsTextRules
}

func (s *TextSource) compile(field string) (*metricsTextConfig, error) {
	url, err := metricsURL(field, s.Address, s.Path)
	if err != nil {
		return nil, err
	}
	rules, err := s.TextRules.compile(field, url)
	if err != nil {
		return nil, err
	}
	return &metricsTextConfig{url: url, rules: rules}, nil
}

func (s *CommandSource) compile(field string) (*metricsCommandConfig, error) {
	if s.Container == "" {
		return nil, metricsErrorf(field+".container", "required")
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return nil, metricsErrorf(field+".command", "required")
	}
	rules, err := s.TextRules.compile(field, fmt.Sprintf("%q", s.Command))
	if err != nil {
		return nil, err
	}
	return &metricsCommandConfig{container: s.Container, argv: append([]string(nil), s.Command...), rules: rules}, nil
}

func (r *TextRules) compile(field, where string) (metricsTextRules, error) {
	out := metricsTextRules{prefix: r.Prefix, dropUnmapped: r.DropUnmapped, where: where}
	for i := 0; i < len(r.Prefix); i++ {
		if c := r.Prefix[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return out, metricsErrorf(field+".prefix", "%q holds characters other than [a-zA-Z0-9_]", r.Prefix)
		}
	}
	for i, m := range r.Mappings {
		f := fmt.Sprintf("%s.mappings[%d]", field, i)
		g, err := metricsParseGlob(m.Match)
		if err != nil {
			return out, metricsErrorf(f+".match", "%v", err)
		}
		if m.Drop {
			if m.Name != "" || m.Type != "" || m.Help != "" || m.Unit != "" || len(m.Labels) > 0 {
				return out, metricsErrorf(f+".drop", "a dropping mapping has no name, type, help, unit or labels")
			}
			out.mappings = append(out.mappings, metricsTextMapping{glob: g, drop: true})
			continue
		}
		typ, unit, labels, name, err := metricsCompileMapping(f, m.Name, m.Type, m.Unit, m.Labels, g.wildcards)
		if err != nil {
			return out, err
		}
		help := m.Help
		if help == "" {
			help = fmt.Sprintf("The values of the keys matching %q in the text of %s.", m.Match, where)
		}
		out.mappings = append(out.mappings, metricsTextMapping{glob: g, name: name, typ: typ, help: help,
			unit: unit, labels: labels})
	}
	return out, nil
}

func (c *metricsTextConfig) scraper(env metricsEnv, source string, max int64) (func(context.Context, *metricsEmitter) error, func()) {
	client := env.httpClient()
	return func(ctx context.Context, e *metricsEmitter) error {
		body, err := metricsFetch(ctx, client, c.url, "text/plain", max)
		if err != nil {
			if _, ok := errors.AsType[*metricsTooLargeError](err); ok {
				e.stats.parseErrors.Add(1)
			}
			return err
		}
		c.rules.emit(body, e)
		return nil
	}, client.CloseIdleConnections
}

func (c *metricsCommandConfig) scraper(env metricsEnv, source string, max int64) func(context.Context, *metricsEmitter) error {
	return func(ctx context.Context, e *metricsEmitter) error {
		out := &metricsLimitedBuffer{max: max}
		errOut := &metricsLimitedBuffer{max: 1024}
		if err := env.exec(ctx, c.container, c.argv, out, errOut); err != nil {
			if msg := strings.TrimSpace(string(errOut.buf)); msg != "" {
				return fmt.Errorf("command %q: %w: %s", c.argv, err, msg)
			}
			return fmt.Errorf("command %q: %w", c.argv, err)
		}
		if out.over {
			e.stats.parseErrors.Add(1)
			return fmt.Errorf("command %q: output %w", c.argv, &metricsTooLargeError{max})
		}
		c.rules.emit(out.buf, e)
		return nil
	}
}

// emit emits the series of the lines of text.
func (r *metricsTextRules) emit(text []byte, e *metricsEmitter) {
	var caps []string
	for len(text) > 0 {
		var line []byte
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, nil
		}
		if len(line) > metricsMaxTextLine {
			e.stats.parseErrors.Add(1)
			continue
		}
		key, value, ok, err := metricsParseTextLine(line)
		if err != nil {
			e.stats.parseErrors.Add(1)
			continue
		}
		if !ok {
			continue
		}
		caps = r.sample(key, value, caps[:0], e)
	}
}

// sample emits the series of one line. The value is parsed only once the
// key is known to be kept, so that a dropped key may have any value.
func (r *metricsTextRules) sample(key string, valueText []byte, caps []string, e *metricsEmitter) []string {
	var m *metricsTextMapping
	for i := range r.mappings {
		var ok bool
		if caps, ok = r.mappings[i].glob.match(key, caps[:0]); ok {
			m = &r.mappings[i]
			break
		}
	}
	if (m != nil && m.drop) || (m == nil && r.dropUnmapped) {
		e.stats.drop(metricsDropUnmapped)
		return caps
	}
	value, err := strconv.ParseFloat(string(valueText), 64)
	if err != nil {
		e.stats.parseErrors.Add(1)
		return caps
	}
	if m != nil {
		e.emit(&metricsSample{name: m.name.expand(caps), typ: m.typ, help: m.help, unit: m.unit.base,
			value: value * m.unit.factor, labels: metricsExpandLabels(m.labels, caps)})
		return caps
	}
	// A key with nothing valid in it names nothing: the prefix alone
	// would mix keys up.
	name := metricsSanitize(key)
	if name != "" {
		name = r.prefix + name
		if name[0] >= '0' && name[0] <= '9' {
			name = "_" + name
		}
	}
	e.emit(&metricsSample{name: name, typ: Gauge, value: value,
		help: fmt.Sprintf("The value of the key %s in the text of %s.", name, r.where)})
	return caps
}

// metricsParseTextLine splits a line into its key and value; ok is false
// for a blank line or a comment.
func metricsParseTextLine(line []byte) (key string, value []byte, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return "", nil, false, nil
	}
	end := bytes.IndexAny(line, " \t=:")
	if end <= 0 {
		return "", nil, false, errors.New("no key and value")
	}
	key = string(line[:end])
	rest := bytes.TrimLeft(line[end:], " \t")
	if len(rest) > 0 && (rest[0] == '=' || rest[0] == ':') {
		rest = bytes.TrimLeft(rest[1:], " \t")
	}
	if len(rest) == 0 || bytes.ContainsAny(rest, " \t") {
		return "", nil, false, fmt.Errorf("key %q: no single value", key)
	}
	return key, rest, true, nil
}

// metricsCommandWaitDelay bounds the wait for a command's output once it
// has exited, should a child of it hold the output open.
const metricsCommandWaitDelay = time.Second
