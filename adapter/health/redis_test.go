package health_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/internal/testenv"
)

// A Redis check against a real redis-server: PING, AUTH with a password,
// an ACL user or a password file, and the server's own error replies.
func TestHealthRedisServer(t *testing.T) {
	open, kill := healthRedisServer(t)
	locked, _ := healthRedisServer(t, "--requirepass", "s3cret")
	secret := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(secret, []byte("s3cret\n"), 0o600))
	wrong := filepath.Join(t.TempDir(), "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("guess"), 0o600))

	for _, tc := range []struct {
		name  string
		redis health.Redis
		want  string // a substring of the reason; "" passes
	}{
		{"no password", health.Redis{Address: open}, ""},
		{"password", health.Redis{Address: locked, Password: "s3cret"}, ""},
		{"default user", health.Redis{Address: locked, Username: "default", Password: "s3cret"}, ""},
		{"password file", health.Redis{Address: locked, PasswordFile: secret}, ""},
		{"missing password", health.Redis{Address: locked}, "redis: PING: NOAUTH Authentication required."},
		{"wrong password", health.Redis{Address: locked, PasswordFile: wrong}, "redis: AUTH: WRONGPASS invalid username-password pair"},
		{"unknown user", health.Redis{Address: locked, Username: "app", Password: "s3cret"}, "redis: AUTH: WRONGPASS"},
		{"password without one", health.Redis{Address: open, Password: "s3cret"}, "redis: AUTH: ERR AUTH <password> called without any password configured"},
		{"missing password file", health.Redis{Address: locked, PasswordFile: secret + ".nope"}, "passwordFile: open " + secret + ".nope: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason := healthCheckOnce(t, health.Check{Redis: &tc.redis}, 2*time.Second)
			if tc.want == "" {
				assert.Empty(t, reason)
			} else {
				assert.Contains(t, reason, tc.want)
				assert.NotContains(t, reason, "s3cret", "the password stays secret")
			}
		})
	}

	get := healthServe(t, health.Adapter{Listen: ":1", Checks: []health.Check{
		{Name: "cache", Redis: &health.Redis{Address: open}}}})
	code, _ := get("/readyz/cache")
	assert.Equal(t, 200, code)
	kill()
	code, body := get("/readyz/cache")
	assert.Equal(t, 500, code)
	assert.Contains(t, body, "connect: connection refused")
}

// A Redis check fails with a clear reason whatever the server answers, and
// sends exactly AUTH and PING.
func TestHealthRedisFakeServers(t *testing.T) {
	var mu sync.Mutex
	var got []string
	reply := func(replies ...string) string {
		return testenv.ServeTCP(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			var req strings.Builder
			for _, r := range replies {
				if err := healthReadRESP(br, &req); err != nil {
					return
				}
				if _, err := io.WriteString(c, r); err != nil {
					return
				}
			}
			mu.Lock()
			got = append(got, req.String())
			mu.Unlock()
		})
	}
	raw := func(serve func(c net.Conn)) string { return testenv.ServeTCP(t, serve) }

	for _, tc := range []struct {
		name  string
		redis health.Redis
		want  string
	}{
		{"pong", health.Redis{Address: reply("+PONG\r\n")}, ""},
		{"auth and pong", health.Redis{Address: reply("+OK\r\n", "+PONG\r\n"), Password: "pw"}, ""},
		{"NOAUTH", health.Redis{Address: reply("-NOAUTH Authentication required.\r\n")}, "^redis: PING: NOAUTH Authentication required.$"},
		{"LOADING", health.Redis{Address: reply("-LOADING Redis is loading the dataset in memory\r\n")},
			"^redis: PING: LOADING Redis is loading the dataset in memory$"},
		{"wrong password", health.Redis{Address: reply("-WRONGPASS invalid username-password pair\r\n", "-NOAUTH Authentication required.\r\n"), Password: "pw"},
			"^redis: AUTH: WRONGPASS invalid username-password pair$"},
		{"bulk reply", health.Redis{Address: reply("$4\r\nPONG\r\n")}, `^redis: PING: unexpected reply "\$4", want "\+PONG": not a Redis server\?$`},
		{"HTTP server", health.Redis{Address: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 1024))
			fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		})}, `^redis: PING: unexpected reply "HTTP/1.1 400 Bad Request", want "\+PONG": not a Redis server\?$`},
		{"garbage", health.Redis{Address: raw(func(c net.Conn) {
			_, _ = c.Write([]byte("\x00\x01\xff\xfe garbage\n"))
		})}, `^redis: PING: unexpected reply "\\x00\\x01\\xff\\xfe garbage"`},
		{"endless line", health.Redis{Address: raw(func(c net.Conn) {
			_, _ = c.Write([]byte(strings.Repeat("x", 10000)))
			_, _ = io.Copy(io.Discard, c)
		})}, "^redis: PING: reply longer than 4096 bytes without an end of line: not a Redis server\\?$"},
		{"slowloris", health.Redis{Address: raw(func(c net.Conn) {
			for _, b := range []byte("+PON") {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			_, _ = io.Copy(io.Discard, c) // until the client gives up
		})}, "^timeout after 300ms$"},
		{"silent", health.Redis{Address: raw(func(c net.Conn) {
			_, _ = io.Copy(io.Discard, c)
		})}, "^timeout after 300ms$"},
		{"closed", health.Redis{Address: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 1024))
		})}, "^redis: PING: the server closed the connection without a reply$"},
		{"reset", health.Redis{Address: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 1024))
			_ = c.(*net.TCPConn).SetLinger(0)
		})}, "connection reset by peer|closed the connection"},
		{"half a reply", health.Redis{Address: raw(func(c net.Conn) {
			_, _ = c.Read(make([]byte, 1024))
			_, _ = c.Write([]byte("+PO"))
		})}, `^redis: PING: the server closed the connection in the middle of the reply "\+PO"$`},
		{"refused", health.Redis{Address: healthRefusedAddr(t)}, "connect: connection refused$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			timeout := 5 * time.Second
			if strings.HasPrefix(tc.want, "^timeout") {
				timeout = 300 * time.Millisecond
			}
			reason := healthCheckOnce(t, health.Check{Redis: &tc.redis}, timeout)
			if tc.want == "" {
				assert.Empty(t, reason)
			} else {
				assert.Regexp(t, tc.want, reason)
			}
			assert.Less(t, time.Since(start), timeout+2*time.Second)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, got, "*1\r\n$4\r\nPING\r\n")
	assert.Contains(t, got, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*1\r\n$4\r\nPING\r\n")
}

// healthReadRESP reads one RESP command (an array of bulk strings) from br
// into req.
func healthReadRESP(br *bufio.Reader, req *strings.Builder) error {
	line, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	req.WriteString(line)
	var n int
	if _, err := fmt.Sscanf(line, "*%d\r\n", &n); err != nil {
		return err
	}
	for range 2 * n {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		req.WriteString(line)
	}
	return nil
}
