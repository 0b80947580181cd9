package health

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/podkit/podkit/adapter/internal/config"
	"github.com/podkit/podkit/pod"
)

// Bounds of the checks.
const (
	// healthWaitDelay bounds the wait for a command's output pipes once it
	// has exited (or been killed) when a child of it holds them open.
	healthWaitDelay = 200 * time.Millisecond
	// healthMaxOutput is the end of a failed command's output kept for the
	// failure's reason.
	healthMaxOutput = 512
	// healthMaxReply bounds a line of a RESP reply.
	healthMaxReply = 4 << 10
	// healthMaxHeaderBytes bounds an HTTP check's response headers.
	healthMaxHeaderBytes = 64 << 10
	// healthMaxReason bounds a failure's reason in the endpoints' output.
	healthMaxReason = 1 << 10
)

// healthDialFunc makes a connection.
type healthDialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// compile checks h and returns its checker. p is the pod the checks run in
// (nil outside a pod); inPod says whether the checks are those of an
// in-process container, where a command check needs its container. name
// labels the metrics.
func (h Adapter) compile(name string, p *pod.Pod, inPod bool) (*healthChecker, error) {
	if h.Listen == "" {
		return nil, errors.New("health: listen: required")
	}
	if err := config.CheckAddress(h.Listen, true); err != nil {
		return nil, fmt.Errorf("health: listen: %w", err)
	}
	if h.PodListen != "" {
		if err := config.CheckAddress(h.PodListen, true); err != nil {
			return nil, fmt.Errorf("health: podListen: %w", err)
		}
	}
	if h.Timeout < 0 {
		return nil, fmt.Errorf("health: timeout: %s is negative", h.Timeout)
	}
	if h.CacheFor < 0 {
		return nil, fmt.Errorf("health: cacheFor: %s is negative", h.CacheFor)
	}
	if err := h.limits().Check(); err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	if len(h.Checks) == 0 {
		return nil, errors.New("health: checks: at least one is required")
	}
	dial := healthDialFunc((&net.Dialer{}).DialContext)
	if p != nil {
		dial = p.DialContext
	}
	timeout := cmp.Or(h.Timeout, DefaultTimeout)
	hc := newHealthChecker(name, timeout, h.CacheFor, h.Logger)
	for i, c := range h.Checks {
		field := fmt.Sprintf("health: checks[%d]", i)
		if c.Name == "" {
			return nil, fmt.Errorf("%s.name: required", field)
		}
		if msgs := validation.IsDNS1123Label(c.Name); len(msgs) > 0 {
			return nil, fmt.Errorf("%s.name: %q: %s", field, c.Name, strings.Join(msgs, "; "))
		}
		if _, dup := hc.byName[c.Name]; dup {
			return nil, fmt.Errorf("%s.name: %q is the name of an earlier check", field, c.Name)
		}
		kinds := 0
		for _, set := range []bool{c.Command != nil, c.TCP != nil, c.Redis != nil, c.HTTP != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			return nil, fmt.Errorf("%s: exactly one of command, tcp, redis and http must be set, not %d", field, kinds)
		}
		var run func(ctx context.Context) error
		switch {
		case c.Command != nil:
			cmd := *c.Command
			if len(cmd.Command) == 0 || cmd.Command[0] == "" {
				return nil, fmt.Errorf("%s.command.command: required", field)
			}
			if inPod && cmd.Container == "" {
				return nil, fmt.Errorf("%s.command.container: required in a pod", field)
			}
			run = healthCommandCheck(p, cmd)
		case c.TCP != nil:
			if err := config.CheckAddress(c.TCP.Address, false); err != nil {
				return nil, fmt.Errorf("%s.tcp.address: %w", field, err)
			}
			run = healthTCPCheck(dial, c.TCP.Address)
		case c.Redis != nil:
			r := *c.Redis
			if err := config.CheckAddress(r.Address, false); err != nil {
				return nil, fmt.Errorf("%s.redis.address: %w", field, err)
			}
			if r.Password != "" && r.PasswordFile != "" {
				return nil, fmt.Errorf("%s.redis.passwordFile: set with password; set one of them", field)
			}
			if r.Username != "" && r.Password == "" && r.PasswordFile == "" {
				return nil, fmt.Errorf("%s.redis.username: set without password or passwordFile", field)
			}
			run = healthRedisCheck(dial, r)
		case c.HTTP != nil:
			hh := *c.HTTP
			u, err := url.Parse(hh.URL)
			if err != nil {
				return nil, fmt.Errorf("%s.http.url: %w", field, err)
			}
			if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
				return nil, fmt.Errorf("%s.http.url: %q: want http://host:port/path or https://host:port/path", field, hh.URL)
			}
			if len(hh.OKValues) > 0 && hh.JSONField == "" {
				return nil, fmt.Errorf("%s.http.okValues: set without jsonField", field)
			}
			if hh.JSONField != "" && slices.Contains(strings.Split(hh.JSONField, "."), "") {
				return nil, fmt.Errorf("%s.http.jsonField: %q has an empty part", field, hh.JSONField)
			}
			if len(hh.OKValues) == 0 {
				hh.OKValues = DefaultOKValues
			}
			run = healthHTTPCheck(dial, hh)
		}
		hc.add(&healthState{name: c.Name, live: c.Liveness || !c.Readiness, ready: c.Readiness || !c.Liveness, run: run})
	}
	return hc, nil
}

// healthCommandCheck runs a command in a container of p, or here when p is
// nil; exit status 0 passes.
func healthCommandCheck(p *pod.Pod, c Command) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		out := &healthTail{}
		var err error
		if p != nil {
			cmd := exec.Command(c.Command[0], c.Command[1:]...)
			cmd.Stdout, cmd.Stderr, cmd.WaitDelay = out, out, healthWaitDelay
			err = p.Exec(ctx, c.Container, cmd)
		} else {
			cmd := exec.CommandContext(ctx, c.Command[0], c.Command[1:]...)
			cmd.Stdout, cmd.Stderr, cmd.WaitDelay = out, out, healthWaitDelay
			// Kill what the command started too: a shell's children would
			// otherwise outlive it.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			err = cmd.Run()
		}
		if err == nil {
			return nil
		}
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
}

// healthTail keeps the last healthMaxOutput bytes written to it.
type healthTail struct {
	buf []byte
	cut bool
}

func (t *healthTail) Write(b []byte) (int, error) {
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - healthMaxOutput; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(b), nil
}

func (t *healthTail) String() string {
	if t.cut {
		return "..." + string(t.buf)
	}
	return string(t.buf)
}

// healthTCPCheck connects to addr; an accepted connection passes.
func healthTCPCheck(dial healthDialFunc, addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		conn, err := dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// healthRedisCheck sends AUTH (when a password is set) and PING, in one
// write, and wants +OK and +PONG.
func healthRedisCheck(dial healthDialFunc, r Redis) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var req []byte
		password := r.Password
		if r.PasswordFile != "" {
			data, err := os.ReadFile(r.PasswordFile)
			if err != nil {
				return fmt.Errorf("passwordFile: %w", err)
			}
			password = strings.TrimRight(string(data), "\r\n")
		}
		if password != "" {
			if r.Username != "" {
				req = healthRESP(req, "AUTH", r.Username, password)
			} else {
				req = healthRESP(req, "AUTH", password)
			}
		}
		req = healthRESP(req, "PING")

		conn, err := dial(ctx, "tcp", r.Address)
		if err != nil {
			return err
		}
		defer conn.Close()
		if d, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(d)
		}
		// A cancelled context (the adapter stopping) ends the exchange too.
		stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
		if _, err := conn.Write(req); err != nil {
			return fmt.Errorf("redis: send: %w", err)
		}
		br := bufio.NewReaderSize(conn, healthMaxReply)
		if password != "" {
			if err := healthRedisReply(br, "AUTH", "+OK"); err != nil {
				return err
			}
		}
		return healthRedisReply(br, "PING", "+PONG")
	}
}

// healthRESP appends a RESP command (an array of bulk strings) to b.
func healthRESP(b []byte, args ...string) []byte {
	b = fmt.Appendf(b, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b
}

// healthRedisReply reads one reply line and wants it to be want.
func healthRedisReply(br *bufio.Reader, command, want string) error {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return fmt.Errorf("redis: %s: reply longer than %d bytes without an end of line: not a Redis server?", command, healthMaxReply)
	case errors.Is(err, io.EOF) && len(line) == 0:
		return fmt.Errorf("redis: %s: the server closed the connection without a reply", command)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("redis: %s: the server closed the connection in the middle of the reply %s", command, healthQuote(string(line)))
	case err != nil:
		return fmt.Errorf("redis: %s: %w", command, err)
	}
	line = bytes.TrimRight(line, "\r\n")
	switch {
	case string(line) == want:
		return nil
	case len(line) > 0 && line[0] == '-':
		return fmt.Errorf("redis: %s: %s", command, line[1:])
	}
	if len(line) > 64 {
		line = line[:64]
	}
	return fmt.Errorf("redis: %s: unexpected reply %q, want %q: not a Redis server?", command, line, want)
}

// healthHTTPCheck sends a GET; a 2xx status, and the JSON field's value
// when one is named, passes.
func healthHTTPCheck(dial healthDialFunc, c HTTP) func(ctx context.Context) error {
	client := &http.Client{
		Transport: &http.Transport{
			DialContext:            dial,
			DisableKeepAlives:      true, // nothing open between checks
			MaxResponseHeaderBytes: healthMaxHeaderBytes,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var path []string
	if c.JSONField != "" {
		path = strings.Split(c.JSONField, ".")
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "podkit-health-adapter")
		if path != nil {
			req.Header.Set("Accept", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err // the URL is the check's own
			}
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			if loc := resp.Header.Get("Location"); loc != "" {
				return fmt.Errorf("HTTP status %s (redirect to %s, not followed)", resp.Status, loc)
			}
			return fmt.Errorf("HTTP status %s", resp.Status)
		}
		if path == nil {
			return nil
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
		if err != nil {
			return fmt.Errorf("reading the body: %w", err)
		}
		if len(body) > MaxBody {
			return fmt.Errorf("body larger than %d bytes", MaxBody)
		}
		value, err := healthJSONField(body, path)
		if err != nil {
			return err
		}
		if slices.Contains(c.OKValues, value) {
			return nil
		}
		return fmt.Errorf("%s is %s, want one of %q", c.JSONField, healthQuote(value), c.OKValues)
	}
}

// healthJSONField returns the value at path in a JSON object: a string as
// it is, null, a boolean or a number in its JSON form.
func healthJSONField(body []byte, path []string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("body is not JSON: %w", err)
	}
	for i, part := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if i == 0 {
				return "", fmt.Errorf("body is %s, not a JSON object", healthJSONKind(v))
			}
			return "", fmt.Errorf("%s is %s, not an object", strings.Join(path[:i], "."), healthJSONKind(v))
		}
		if v, ok = m[part]; !ok {
			return "", fmt.Errorf("%s: missing from the body", strings.Join(path[:i+1], "."))
		}
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "null", nil
	}
	return "", fmt.Errorf("%s is %s, not a string", strings.Join(path, "."), healthJSONKind(v))
}

func healthJSONKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// healthQuote quotes a value, shortened.
func healthQuote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

// healthLog tells of the changes of the checks' results.
func healthLog(l *zap.Logger, out io.Writer, name string, err error) {
	switch {
	case l != nil && err != nil:
		l.Warn("health check failed", zap.String("check", name), zap.String("reason", healthReason(err)))
	case l != nil:
		l.Info("health check passes again", zap.String("check", name))
	case out != nil && err != nil:
		fmt.Fprintf(out, "health check %s failed: %s\n", name, healthReason(err))
	case out != nil:
		fmt.Fprintf(out, "health check %s passes again\n", name)
	}
}
