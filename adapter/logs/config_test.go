package logs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/pod"
)

func TestLogsValidation(t *testing.T) {
	files := &Files{Patterns: []string{"*.log"}}
	tests := []struct {
		l    Adapter
		want string
	}{
		{Adapter{}, "logs: input: exactly one of fromContainer, files, stdin and reader is required"},
		{Adapter{FromContainer: "app", Stdin: true}, "logs: input: exactly one of"},
		{Adapter{Files: &Files{}}, "logs: files.patterns: at least one is required"},
		{Adapter{Files: &Files{Patterns: []string{"[x"}}}, `logs: files.patterns[0]: invalid pattern "[x"`},
		{Adapter{Files: &Files{Volume: "v", Patterns: []string{"/abs/*.log"}}}, `files.patterns[0]: "/abs/*.log" must be relative to volume "v"`},
		{Adapter{Files: &Files{Patterns: []string{"a"}, PollInterval: -time.Second}}, "logs: files.pollInterval: -1s is negative"},
		{Adapter{Files: files, Output: &bytes.Buffer{}, OutputFile: "x"}, "logs: output: at most one of output, outputFile and zapCore"},
		{Adapter{Files: files, OutputVolume: "v"}, "logs: outputVolume: needs outputFile"},
		{Adapter{Files: files, OutputVolume: "v", OutputFile: "/abs"}, `logs: outputFile: "/abs" must be relative to volume "v"`},
		{Adapter{Files: files, Format: "xml"}, `logs: format: unknown format "xml"`},
		{Adapter{Files: files, Format: FormatCRI, Inner: FormatCRI}, `logs: inner: "cri" is not a format of the text of a CRI line`},
		{Adapter{Files: files, Format: FormatJSON, Inner: FormatJSON}, "logs: inner: only with format cri, not json"},
		{Adapter{Files: files, Format: FormatRegex}, "logs: regex: required with format regex"},
		{Adapter{Files: files, Format: FormatRegex, Regex: "("}, "logs: regex: error parsing regexp"},
		{Adapter{Files: files, Format: FormatRegex, Regex: `(\w+)`}, `logs: regex: "(\\w+)" has no named group`},
		{Adapter{Files: files, Format: FormatJSON, Regex: `(?P<a>.)`}, "logs: regex: only with format regex, not json"},
		{Adapter{Files: files, MaxLineBytes: -1}, "logs: maxLineBytes: -1 is negative"},
		{Adapter{Files: files, Multiline: &Multiline{}}, "logs: multiline: exactly one of startPattern, continuePattern and indented is required"},
		{Adapter{Files: files, Multiline: &Multiline{Indented: true, StartPattern: "^x"}}, "logs: multiline: exactly one of"},
		{Adapter{Files: files, Multiline: &Multiline{StartPattern: "("}}, "logs: multiline.startPattern: error parsing regexp"},
		{Adapter{Files: files, Multiline: &Multiline{ContinuePattern: "["}}, "logs: multiline.continuePattern: error parsing regexp"},
		{Adapter{Files: files, Multiline: &Multiline{Indented: true, MaxLines: -1}}, "logs: multiline.maxLines: -1 is negative"},
		{Adapter{Files: files, Multiline: &Multiline{Indented: true, MaxBytes: -1}}, "logs: multiline.maxBytes: -1 is negative"},
		{Adapter{Files: files, Multiline: &Multiline{Indented: true, FlushAfter: -1}}, "logs: multiline.flushAfter: -1ns is negative"},
		{Adapter{Files: files, TimeLayouts: []string{"rfc3339", "yyyy-mm-dd"}}, `logs: timeLayouts[1]: "yyyy-mm-dd": not a time layout`},
		{Adapter{Files: files, TimeZone: "Mars/Olympus"}, "logs: timeZone: unknown time zone Mars/Olympus"},
		{Adapter{Files: files, Rename: map[string]string{"": "x"}}, "logs: rename: empty field name"},
		{Adapter{Files: files, Rename: map[string]string{"a": ""}}, `logs: rename["a"]: empty new name`},
		{Adapter{Files: files, Rename: map[string]string{"a": "msg"}}, `logs: rename["a"]: "msg" is a field of the adapter's`},
		{Adapter{Files: files, Types: map[string]FieldType{"a": "date"}}, `logs: types["a"]: unknown type "date": want string, int, float or bool`},
		{Adapter{Files: files, Types: map[string]FieldType{"": Int}}, "logs: types: empty field name"},
		{Adapter{Files: files, Types: map[string]FieldType{"time": Int}}, `logs: types["time"]: a field of the adapter's is not cast`},
		{Adapter{Files: files, Drop: []string{"x", "msg"}}, `logs: drop[1]: "msg" cannot be dropped`},
		{Adapter{Files: files, Drop: []string{"parse_error"}}, `logs: drop[0]: "parse_error" cannot be dropped`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.l.Container("adapter")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if tt.l.FromContainer == "" && !tt.l.Stdin && tt.l.Files == nil {
				return
			}
			require.ErrorContains(t, tt.l.Run(t.Context()), tt.want, "Run checks too")
		})
	}
	_, err := Adapter{Stdin: true}.Container("")
	assert.EqualError(t, err, "logs: name: required")
	_, err = Adapter{FromContainer: "adapter"}.Container("adapter")
	assert.EqualError(t, err, `logs: fromContainer: "adapter" is the adapter itself`)
	err = Adapter{FromContainer: "app", Output: &bytes.Buffer{}}.Run(t.Context())
	assert.EqualError(t, err, "logs: fromContainer: not running as an in-process container of a pod (pod.FromContext)")
}

func TestLogsContainer(t *testing.T) {
	l := Adapter{
		Files:       &Files{Volume: "logs", Patterns: []string{"*.log"}, FromStart: true, PollInterval: 250 * time.Millisecond},
		Format:      FormatRegex,
		Regex:       `^(?P<level>\w+) (?P<msg>.*)$`,
		Multiline:   &Multiline{Indented: true, FlushAfter: time.Second},
		TimeLayouts: []string{"unix_ms"},
		Rename:      map[string]string{"caller": "source"},
		Types:       map[string]FieldType{"status": Int},
		Drop:        []string{"stacktrace"},
		Enrich:      true,
		OutputFile:  "out.jsonl", OutputVolume: "logs",
	}
	c, err := l.Container("adapter")
	require.NoError(t, err)
	assert.Equal(t, "adapter", c.Name)
	assert.Equal(t, pod.RestartAlways, c.RestartPolicy)
	require.NotNil(t, c.Func)
	// The export is the adapter's flags (package memberconf), which read
	// back into the same configuration.
	assert.Equal(t, []string{"adapter", "logs"}, c.ExportArgs[:2])
	assert.Contains(t, c.ExportArgs, `--files={"fromStart":true,"patterns":["*.log"],"pollInterval":"250ms","volume":"logs"}`)
	var back Adapter
	require.NoError(t, memberconf.Parse("logs", c.ExportArgs[2:], &back))
	assert.Equal(t, l, back)
	assert.Contains(t, c.ExportArgs, `--regex=^(?P<level>\w+) (?P<msg>.*)$`, "readable")

	// The container keeps its configuration when the caller's changes.
	l.Files.Patterns[0] = "changed"
	l.Rename["caller"] = "changed"
	assert.NotContains(t, c.ExportArgs[3], "changed")

	// What the process form cannot do is not exported.
	for _, l := range []Adapter{
		{FromContainer: "app"},
		{Reader: strings.NewReader("")},
		{Stdin: true, Output: &bytes.Buffer{}},
		{Stdin: true, ZapCore: zapcore.NewNopCore()},
	} {
		c, err := l.Container("adapter")
		require.NoError(t, err)
		assert.Nil(t, c.ExportArgs)
	}
}

func TestParseLogsConfig(t *testing.T) {
	l, err := Parse([]byte(`{"stdin":true,"format":"logfmt","multiline":{"startPattern":"^\\S","flushAfter":"2ms"},
		"files":null,"types":{"n":"float"}}`))
	require.NoError(t, err)
	assert.Equal(t, Adapter{Stdin: true, Format: FormatLogfmt, Multiline: &Multiline{StartPattern: `^\S`, FlushAfter: 2 * time.Millisecond},
		Types: map[string]FieldType{"n": Float}}, l)

	for _, bad := range []struct{ config, want string }{
		{`{"stdin":true,"fromat":"json"}`, `logs: config: fromat: unknown field`},
		{`{"files":{"patterns":["a"],"poll":"1s"}}`, `logs: config: files.poll: unknown field`},
		{`{"files":{"patterns":["a"],"pollInterval":"soon"}}`, `logs: config: files.pollInterval: "soon": not a duration`},
		{`{"stdin":true,"multiline":{"indented":true,"flushAfter":true}}`, `logs: config: multiline.flushAfter: want a duration such as "10s", got true`},
		{`{"stdin":true} {}`, "logs: config: document: after the document: yaml: did not find expected <document start>"},
		{`{"stdin":true,"format":"yaml"}`, `logs: format: unknown format "yaml"`},
		{`[]`, "logs: config: document: want an object, got a list"},
	} {
		_, err := Parse([]byte(bad.config))
		require.Error(t, err, bad.config)
		assert.Contains(t, err.Error(), bad.want)
	}
	data, err := json.Marshal(Adapter{Stdin: true})
	require.NoError(t, err)
	assert.JSONEq(t, `{"stdin":true}`, string(data), "zero values are left out")
}
