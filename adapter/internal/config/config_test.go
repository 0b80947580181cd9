package config_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/adapter/internal/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: `"1.5s"`, want: 1500 * time.Millisecond},
		{in: `"0s"`},
		{in: `2000000000`, want: 2 * time.Second},
		{in: `"soon"`, err: `duration: time: invalid duration "soon"`},
		{in: `1.5`, err: `duration 1.5: a string such as "5s" or a number of nanoseconds is required`},
		{in: `true`, err: `duration true: a string such as "5s" or a number of nanoseconds is required`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var d config.Duration
			err := json.Unmarshal([]byte(tc.in), &d)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, time.Duration(d))
		})
	}
	out, err := json.Marshal(config.Duration(1500 * time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, `"1.5s"`, string(out))
}

func TestDecodeStrict(t *testing.T) {
	type conf struct {
		A int `json:"a"`
	}
	var c conf
	require.NoError(t, config.DecodeStrict([]byte(` {"a":1} `), &c))
	assert.Equal(t, 1, c.A)
	assert.ErrorContains(t, config.DecodeStrict([]byte(`{"b":1}`), &c), `unknown field "b"`)
	assert.EqualError(t, config.DecodeStrict([]byte(`{"a":1}{}`), &c), "data after the JSON value")
	assert.EqualError(t, config.DecodeStrict([]byte(`{"a":`), &c), "unexpected end of JSON input")
	assert.EqualError(t, config.DecodeStrict(nil, &c), "unexpected end of JSON input")
}

func TestCheckAddress(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		listen bool
		err    string
	}{
		{addr: "127.0.0.1:80"},
		{addr: ":0", listen: true},
		{addr: "[::1]:65535"},
		{addr: "", err: "required"},
		{addr: "localhost", err: `"localhost": address localhost: missing port in address`},
		{addr: ":0", err: `":0": port "0" is not a port number (1-65535)`},
		{addr: "h:http", listen: true, err: `"h:http": port "http" is not a port number (1-65535)`},
		{addr: "h:65536", listen: true, err: `"h:65536": port "65536" is not a port number (1-65535)`},
	} {
		err := config.CheckAddress(tc.addr, tc.listen)
		if tc.err == "" {
			assert.NoError(t, err, tc.addr)
		} else {
			assert.EqualError(t, err, tc.err, tc.addr)
		}
	}
}
