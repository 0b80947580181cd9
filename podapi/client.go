package podapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod"
)

// ErrNoPod is returned (wrapped) by a Client's calls when no program
// serves the pod's socket: the pod is not running, or its supervisor died
// and left the socket behind.
var ErrNoPod = errors.New("no such pod")

// ErrNotResponding is returned (wrapped) by a Client's calls when the
// pod's server accepted the connection but did not answer within
// DefaultTimeout: its supervisor is stopped (SIGSTOP) or stuck.
var ErrNotResponding = errors.New("not responding")

// ErrRefused is returned (wrapped) by a Client's calls when the server
// closed the connection without an answer: it refuses callers that are not
// root or its own user, run inside a pod, or lack one of its capabilities.
var ErrRefused = errors.New("the pod's server refused this caller")

// DefaultTimeout bounds a Client's wait for an answer: the whole of
// Status, Stop and Kill, and the wait for the first byte of the answer of
// Logs and Exec (a followed log or a running command may then stream for
// as long as they last). A context with an earlier deadline wins.
const DefaultTimeout = 5 * time.Second

// maxBodySize bounds the JSON answers a Client reads.
const maxBodySize = 1 << 20

// Client talks to one pod's API. Its methods may be called concurrently;
// each blocks until its answer has arrived, its context is done or
// DefaultTimeout has passed without an answer. It keeps idle connections
// open until Close.
type Client struct {
	name string
	path string
	http *http.Client
}

// NewClient returns a client of the pod named name whose socket is in dir
// (DefaultDir for the pods of podkit run). It does not connect until a
// method is called, and does not block. Close releases it.
//
// Every connection checks dir as Listen does (owned by this program's
// effective user or root, writable by no one else; ErrUnsafeDir
// otherwise), and
// the server's credentials as the server checks the client's: a server
// that is not root or this program's effective user is refused (the socket
// could be another user's fake server, which must not see a command or its
// input).
func NewClient(dir, name string) *Client {
	path := SocketPath(dir, name)
	c := &Client{name: name, path: path}
	c.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx, dir, name)
		},
		ResponseHeaderTimeout: DefaultTimeout,
	}}
	return c
}

// dial connects to the socket of the pod named name in dir, and checks
// the server's credentials.
func dial(ctx context.Context, dir, name string) (net.Conn, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	euid := os.Geteuid()
	if err := checkDir(dir, euid, true); err != nil {
		return nil, err
	}
	d, err := openPodDir(dir, name, euid, true)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	conn, err := dialSocket(ctx, d)
	if err != nil {
		return nil, err
	}
	uid, err := peerUID(conn)
	if err == nil && uid != 0 && uid != euid {
		err = fmt.Errorf("podapi: the server of %s runs as uid %d, neither root nor uid %d: %w", SocketPath(dir, name), uid, euid, ErrUnsafeDir)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// List returns the names of the pods with a socket in dir, sorted; none,
// and no error, when dir does not exist. dir is checked as NewClient
// checks it (ErrUnsafeDir). A socket may be stale; its pod's Status then
// fails with ErrNoPod. It reads the directory and does not connect to any
// socket.
func List(dir string) ([]string, error) {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err := checkDir(dir, os.Geteuid(), true); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("podapi: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if fi, err := os.Lstat(SocketPath(dir, e.Name())); err == nil && fi.Mode()&os.ModeSocket != 0 {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Close closes the client's idle connections, and with them their
// goroutines. A call in progress goes on; the client stays usable, and
// opens new connections as it needs them.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// do sends a request and checks its status.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Response, error) {
	u := "http://pod" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.callError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var e apiError
		if json.NewDecoder(io.LimitReader(resp.Body, maxBodySize)).Decode(&e) == nil && e.Error != "" {
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("pod %q: %s", c.name, resp.Status)
	}
	return resp, nil
}

// callError names what made a call fail.
func (c *Client) callError(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, ErrUnsafeDir):
		return err
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("pod %q: %w (%s)", c.name, ErrNoPod, filepath.Dir(filepath.Dir(c.path)))
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("pod %q: %w", c.name, os.ErrPermission)
	case errors.Is(context.Cause(ctx), ErrNotResponding):
		return fmt.Errorf("pod %q: %w", c.name, ErrNotResponding)
	case ctx.Err() != nil:
		return fmt.Errorf("pod %q: %w", c.name, context.Cause(ctx))
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("pod %q: %w", c.name, ErrNotResponding)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("pod %q: %w", c.name, ErrRefused)
	}
	return fmt.Errorf("pod %q: %w", c.name, err)
}

// bounded returns ctx bounded by DefaultTimeout, with ErrNotResponding as
// the cause when that fires.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, DefaultTimeout, ErrNotResponding)
}

// Status returns the pod's status. It blocks until the answer arrives or
// ctx is done.
func (c *Client) Status(ctx context.Context) (Status, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var st Status
	resp, err := c.do(ctx, http.MethodGet, "/v1/status", nil, nil)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBodySize)).Decode(&st); err != nil {
		return st, fmt.Errorf("pod %q: status: %w", c.name, c.callError(ctx, err))
	}
	return st, nil
}

// Logs calls fn with the container's log entries (see pod.Pod.Logs for
// opts), one at a time, in the calling goroutine. Without follow it returns
// after the last entry; with follow it blocks, passing entries as they are
// written, until the container will not run again or ctx is done (then it
// returns nil). An error from fn ends the call and is returned as it is.
func (c *Client) Logs(ctx context.Context, container string, opts pod.LogOptions, follow bool, fn func(pod.LogEntry) error) error {
	q := url.Values{"container": {container}}
	if opts.Previous {
		q.Set("previous", "true")
	}
	if opts.Tail > 0 {
		q.Set("tail", strconv.Itoa(opts.Tail))
	}
	if follow {
		q.Set("follow", "true")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/logs", q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		e, err := pod.ParseLogEntry(sc.Text())
		if err != nil {
			return fmt.Errorf("pod %q: logs: %w", c.name, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("pod %q: logs: %w", c.name, err)
	}
	return nil
}

// Exec runs argv in the container, copying stdin (when not nil) to it and
// its output to stdout and stderr, and returns its exit status: 126 with
// ExitStatus.Error set when the command could not run, 128+n when signal n
// killed it. It blocks until the command has ended or ctx is done (the
// server then kills the command). stdout and stderr are written from the
// calling goroutine only.
func (c *Client) Exec(ctx context.Context, container string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (ExitStatus, error) {
	q := url.Values{"container": {container}, "arg": argv}
	var body io.Reader = http.NoBody
	if stdin != nil {
		q.Set("stdin", "true")
		body = stdin
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/exec", q, body)
	if err != nil {
		return ExitStatus{}, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return ExitStatus{}, fmt.Errorf("pod %q: exec: the stream ended without an exit status: %w", c.name, err)
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		if n > MaxFrameSize {
			return ExitStatus{}, fmt.Errorf("pod %q: exec: a frame of %d bytes: more than %d", c.name, n, MaxFrameSize)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return ExitStatus{}, fmt.Errorf("pod %q: exec: %w", c.name, err)
		}
		switch hdr[0] {
		case StreamStdout:
			_, _ = stdout.Write(data)
		case StreamStderr:
			_, _ = stderr.Write(data)
		case StreamExit:
			var st ExitStatus
			if err := json.Unmarshal(data, &st); err != nil {
				return st, fmt.Errorf("pod %q: exec: %w", c.name, err)
			}
			return st, nil
		}
	}
}

// Stop asks the pod to stop gracefully, as Ctrl-C does to podkit run, and
// returns once the server has taken the request, without waiting for the
// pod to stop.
func (c *Client) Stop(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, "/v1/stop", nil, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Kill asks the pod to stop at once (pod.Pod.Kill), and returns once the
// server has taken the request, without waiting for the pod to stop.
func (c *Client) Kill(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, "/v1/kill", nil, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
