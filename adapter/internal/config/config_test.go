package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/adapter/internal/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
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
