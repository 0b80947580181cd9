package memberconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/memberconf/memberconftest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type upstream struct {
	URL     string        `json:"url" member:"primary"`
	Weight  int           `json:"weight,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

type tlsConfig struct {
	CAFile   string `json:"caFile,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
}

type kind string

type rich struct {
	Listen     string            `json:"listen" help:"address to listen on"`
	Upstreams  []upstream        `json:"upstreams"`
	TLS        *tlsConfig        `json:"tls,omitempty"`
	Patterns   []string          `json:"patterns" flag:"pattern"`
	Labels     map[string]string `json:"labels"`
	Interval   time.Duration     `json:"interval"`
	Signal     syscall.Signal    `json:"signal"`
	Percent    float64           `json:"percent"`
	MaxBytes   int64             `json:"maxBytes"`
	Count      uint16            `json:"count"`
	FromStart  bool              `json:"fromStart"`
	Kind       kind              `json:"kind"`
	Subnet     netip.Prefix      `json:"subnet"`
	Nested     upstream          `json:"nested"`
	ByName     map[string]upstream
	Command    []string `json:"command" member:"args"`
	Ignored    func()   `json:"-"`
	unexported int
}

// tricky holds values that a hand-made KEY=VALUE,... encoding gets wrong.
func tricky() rich {
	return rich{
		Listen: "127.0.0.1:8080",
		Upstreams: []upstream{
			{URL: "http://a:80/?offset=-1", Weight: 0},
			{URL: "http://b/?v=2", Weight: 2, Timeout: 1500 * time.Millisecond},
			{URL: "http://c/x,y=z?a=b&c=d,e", Weight: -3},
		},
		TLS:       &tlsConfig{CAFile: "/etc/ca, with comma=.pem"},
		Patterns:  []string{"*.log", "a,b", "--not-a-flag", "k=v"},
		Labels:    map[string]string{"team": "a=b,c", "empty": ""},
		Interval:  90 * time.Second,
		Signal:    syscall.SIGHUP,
		Percent:   12.5,
		MaxBytes:  -1 << 40,
		Count:     65535,
		FromStart: true,
		Kind:      "json",
		Subnet:    netip.MustParsePrefix("10.9.8.4/30"),
		Nested:    upstream{URL: "-starts-with-dash"},
		ByName:    map[string]upstream{"x": {URL: "u", Weight: 1}},
		Command:   []string{"rsync", "--delete", "-a", "src/", "dst/"},
	}
}

func TestRoundTrip(t *testing.T) {
	for name, cfg := range map[string]rich{
		"zero":   {},
		"tricky": tricky(),
		"filled": memberconftest.Fill(reflect.TypeFor[rich](), map[reflect.Type]string{reflect.TypeFor[netip.Prefix](): "10.0.0.0/8"}).Interface().(rich),
	} {
		t.Run(name, func(t *testing.T) {
			args, err := Args(cfg)
			require.NoError(t, err)
			var got rich
			require.NoError(t, Parse("m", args, &got), "args: %q", args)
			cfg.Ignored, got.Ignored = nil, nil
			assert.Equal(t, cfg, got, "args: %q", args)

			doc, err := Encode(cfg)
			require.NoError(t, err)
			var fromDoc rich
			require.NoError(t, Decode(doc, &fromDoc))
			assert.Equal(t, cfg, fromDoc, "document: %s", doc)
		})
	}
}

func TestArgsAreFlagsThenPositional(t *testing.T) {
	args, err := Args(rich{Listen: ":80", Upstreams: []upstream{{URL: "http://a/?v=2", Weight: 2}, {URL: "http://short/"}, {URL: "{braced"}}, Interval: time.Second,
		Signal: syscall.SIGUSR1, Command: []string{"echo", "-n"}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"--listen=:80",
		`--upstreams={"url":"http://a/?v=2","weight":2}`,
		"--upstreams=http://short/",
		`--upstreams={"url":"{braced"}`,
		"--interval=1s",
		"--signal=SIGUSR1",
		"--", "echo", "-n",
	}, args)
}

func TestParseForms(t *testing.T) {
	var got rich
	require.NoError(t, Parse("m", []string{
		"--listen", ":9",
		"--upstreams", "{url: http://a/, weight: 3, timeout: 2s}", // YAML flow
		"--upstreams={\"url\": \"http://b/\"}",
		"--upstreams", "http://short/?a=b,c", // the primary field alone
		"--nested", "n",
		"--pattern", "a", "--pattern", "b,c",
		"--labels", "k=v=w",
		"--signal", "TERM",
		"--from-start",
		"--tls", "{}",
		"--", "cmd", "--flag",
	}, &got))
	assert.Equal(t, rich{
		Listen:    ":9",
		Upstreams: []upstream{{URL: "http://a/", Weight: 3, Timeout: 2 * time.Second}, {URL: "http://b/"}, {URL: "http://short/?a=b,c"}},
		Nested:    upstream{URL: "n"},
		Patterns:  []string{"a", "b,c"},
		Labels:    map[string]string{"k": "v=w"},
		Signal:    syscall.SIGTERM,
		FromStart: true,
		TLS:       &tlsConfig{},
		Command:   []string{"cmd", "--flag"},
	}, got)
}

func TestConfigDocumentThenFlags(t *testing.T) {
	doc := `
listen: ":1"
upstreams: [{url: "http://doc/"}, "http://short/"]
patterns: [x, "y"]
interval: 5s
`
	var got rich
	require.NoError(t, Parse("m", []string{"--config", doc, "--pattern", "z", "--listen", ":2"}, &got))
	assert.Equal(t, rich{Listen: ":2", Upstreams: []upstream{{URL: "http://doc/"}, {URL: "http://short/"}}, Patterns: []string{"z"}, Interval: 5 * time.Second}, got)

	file := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"listen": ":3", "signal": "SIGINT"}`), 0o600))
	got = rich{}
	require.NoError(t, Parse("m", []string{"--config-file", file}, &got))
	assert.Equal(t, rich{Listen: ":3", Signal: syscall.SIGINT}, got)
}

func TestErrorsNameTheFieldAndValue(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, make([]byte, maxConfigFileBytes+1), 0o600))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--interval", "soon"}, `m: --interval: "soon": not a duration`},
		{[]string{"--count", "65536"}, `m: --count: "65536": not an unsigned integer of 16 bits`},
		{[]string{"--percent", "NaN"}, `m: --percent: "NaN": not a finite number`},
		{[]string{"--signal", "SIGNOPE"}, `m: --signal: "SIGNOPE": unknown signal`},
		{[]string{"--signal", "99"}, `m: --signal: 99: not a signal number`},
		{[]string{"--upstreams", `{"url": "a", "wieght": 2}`}, `m: --upstreams: upstreams[0].wieght: unknown field`},
		{[]string{"--upstreams", `{"url": "a", "weight": "2"}`}, `m: --upstreams: upstreams[0].weight: want a number, got "2"`},
		{[]string{"--upstreams", `{"url": "a", "timeout": 5}`}, `upstreams[0].timeout: want a duration such as "10s", got the number 5`},
		{[]string{"--tls", `[1]`}, `m: --tls: tls: want an object, got a list`},
		{[]string{"--labels", "novalue"}, `m: --labels: "novalue": want KEY=VALUE`},
		{[]string{"--subnet", "10.0.0.0/99"}, `m: --subnet: "10.0.0.0/99"`},
		{[]string{"--config", "listen: [1"}, `m: configuration: document:`},
		{[]string{"--config", "nested: {url: 1}"}, `m: configuration: nested.url: want a string, got the number 1`},
		// YAML reads an unquoted yes as true: the error says so.
		{[]string{"--config", "patterns: [yes]"}, `m: configuration: patterns[0]: want a string, got true`},
		{[]string{"--config", `{"listen": ":1"} {}`}, `m: configuration: document: after the document: yaml: did not find expected <document start>`},
		{[]string{"--config", "listen: a\n---\nlisten: b\n"}, `m: configuration: document: one document, not several`},
		{[]string{"--config", "listen: a\nlisten: b\n"}, `m: configuration: document:`},
		{[]string{"--config", "x: 1", "--config-file", "f"}, `m: --config and --config-file: give one`},
		{[]string{"--config-file", big}, "larger than"},
		{[]string{"--nope"}, "m: unknown flag: --nope"},
	} {
		var got rich
		err := Parse("m", tt.args, &got)
		require.Error(t, err, "%q", tt.args)
		assert.Contains(t, err.Error(), tt.want, "%q", tt.args)
	}

	type noArgs struct {
		A string `json:"a"`
	}
	err := Parse("n", []string{"x"}, &noArgs{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `n: unexpected arguments ["x"]`)
}

func TestTypesWithoutAForm(t *testing.T) {
	type withChan struct {
		C chan int `json:"c"`
	}
	_, err := New("m", &withChan{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chan int has no configuration form")
	_, err = New("m", withChan{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pointer to a struct")
}

func TestFlagNamesAndHelp(t *testing.T) {
	for in, want := range map[string]string{
		"listen": "listen", "maxLineBytes": "max-line-bytes", "caFile": "ca-file",
		"podIP": "pod-ip", "tlsCAFile": "tls-ca-file", "fromStart": "from-start",
	} {
		assert.Equal(t, want, kebab(in), in)
	}
	s, err := New("m", &rich{})
	require.NoError(t, err)
	usage := s.Flags().FlagUsages()
	assert.Contains(t, usage, "--listen string")
	assert.Contains(t, usage, "address to listen on")
	assert.Contains(t, usage, "--upstreams json (repeatable)")
	assert.Contains(t, usage, "--interval duration")
	assert.Contains(t, usage, "--from-start")
	assert.Contains(t, usage, "--pattern string (repeatable)")
	assert.Contains(t, usage, "--config string")
	assert.NotContains(t, usage, "--command", "positional arguments are no flag")
	assert.NotContains(t, usage, "ignored")
}
