package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"

	"github.com/podkit/podkit/pod"
)

// metricsEnv is where the sources are: in a pod, or where the adapter
// runs.
type metricsEnv struct {
	pod *pod.Pod
}

func (e metricsEnv) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.pod != nil {
		return e.pod.DialContext(ctx, network, addr)
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

func (e metricsEnv) listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	if e.pod != nil {
		return e.pod.ListenPacket(ctx, network, addr)
	}
	return (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
}

// httpClient returns a client whose connections are made in the pod. It
// keeps no connection open between requests, so nothing is left to close.
func (e metricsEnv) httpClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:            e.dial,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

// exec runs argv in the pod's container (outside a pod, where the adapter
// runs), its output going to stdout and stderr, until it exits or ctx is
// done.
func (e metricsEnv) exec(ctx context.Context, container string, argv []string, stdout, stderr io.Writer) error {
	if e.pod != nil {
		cmd := &exec.Cmd{Path: argv[0], Args: argv, Stdout: stdout, Stderr: stderr, WaitDelay: metricsCommandWaitDelay}
		if !strings.Contains(argv[0], "/") {
			// Exec looks the name up itself in a container with a root
			// filesystem; others see the host's.
			if path, err := exec.LookPath(argv[0]); err == nil {
				cmd.Path = path
			}
		}
		return e.pod.Exec(ctx, container, cmd)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Kill the command's children too, and do not wait for a child that
	// holds the output open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = metricsCommandWaitDelay
	return cmd.Run()
}

// metricsFetch GETs url and returns its body, of at most max bytes.
func metricsFetch(ctx context.Context, client *http.Client, url, accept string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "podkit-metrics-adapter")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("GET %s: %w", url, &metricsTooLargeError{max})
	}
	return body, nil
}

// metricsTooLargeError is an answer or output beyond MaxResponseBytes.
type metricsTooLargeError struct{ max int64 }

func (e *metricsTooLargeError) Error() string {
	return fmt.Sprintf("larger than %d bytes (maxResponseBytes)", e.max)
}

// metricsLimitedBuffer keeps the first max bytes written to it, and takes
// (and drops) the rest, so that a command is not blocked on a full pipe.
type metricsLimitedBuffer struct {
	buf  []byte
	max  int64
	over bool
}

func (b *metricsLimitedBuffer) Write(p []byte) (int, error) {
	room := b.max - int64(len(b.buf))
	if int64(len(p)) > room {
		b.over = true
		b.buf = append(b.buf, p[:max(room, 0)]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}
