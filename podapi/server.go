package podapi

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/pod"
)

// DefaultDir is the directory of the sockets of the pods podkit run
// serves, where the podkit command looks for them.
const DefaultDir = "/run/podkit"

// SocketPath returns the path of the socket of the pod named name in dir:
// dir/name/api.sock. The path may be longer than a socket address holds;
// Listen and Client reach it through a descriptor of its directory.
func SocketPath(dir, name string) string { return filepath.Join(dir, name, socketName) }

// Listen creates the socket of the pod named name in dir, and returns its
// listener. dir is created with mode 0700 if needed; it must be a
// directory (not a symbolic link) owned by this program's effective user
// that no one else may write, below directories no other user may change
// (ErrUnsafeDir otherwise). The socket is dir/name/api.sock, mode 0600, in
// a directory of mode 0700. The listener closes, unanswered, every
// connection whose peer (SO_PEERCRED) is not root or this program's
// effective user, runs in another PID or mount namespace than this program
// (in a pod's container, say), or lacks one of this program's effective
// capabilities. The listener holds an exclusive flock on the pod's
// directory until it is closed or the program exits, however it exits: a
// directory whose lock is held means a pod of that name runs already, an
// error. The directories of pods whose supervisor died (no lock held, no
// answer on the socket), under any name, are removed, and a socket such a
// supervisor left under name is replaced. It blocks for about a second at
// most per stale socket it checks. Closing the listener removes the socket
// and its directory; Server.Serve closes it, a caller that does not serve
// closes it itself.
func Listen(dir, name string) (net.Listener, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	srv, err := self()
	if err != nil {
		return nil, fmt.Errorf("podapi: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("podapi: %w", err)
	}
	if err := checkDir(dir, srv.uid, false); err != nil {
		return nil, err
	}
	// Directories of pods whose supervisor died (SIGKILL) go first; a pod
	// named at random would otherwise leave its directory for ever.
	sweepStale(dir, srv.uid)
	lock, err := lockPodDir(dir, name, srv.uid)
	if err != nil {
		return nil, err
	}
	d, err := openPodDir(dir, name, srv.uid, false)
	if err != nil {
		lock.Close()
		return nil, err
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.Fd()), socketName, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := dialSocket(ctx, d)
		cancel()
		if err == nil {
			c.Close()
			lock.Close()
			return nil, fmt.Errorf("podapi: a pod named %q is running already (%s)", name, SocketPath(dir, name))
		}
		if err := unix.Unlinkat(int(d.Fd()), socketName, 0); err != nil {
			lock.Close()
			return nil, fmt.Errorf("podapi: removing a stale socket: %w", err)
		}
	}
	ln, err := bindSocket(d)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &podListener{Listener: ln, srv: srv, dir: filepath.Join(dir, name), path: SocketPath(dir, name), lock: lock}, nil
}

// Server serves one pod's API. It is configuration: Serve does not change
// it.
type Server struct {
	// Pod is the pod served. Required.
	Pod *pod.Pod
	// Stop stops the pod gracefully, as Ctrl-C does; it must not block.
	// Required.
	Stop func()
	// Manifest is the Kubernetes Pod the pod was made from, as JSON, when
	// it was made from one (podkit run -f); Status carries it, so that a
	// client can show the pod's metadata and spec. Optional.
	Manifest json.RawMessage
}

// Status is what GET /v1/status returns, and Client.Status.
type Status struct {
	// Name is the pod's name.
	Name string `json:"name"`
	// PID is the process ID of the program that runs the pod and serves
	// its API.
	PID int `json:"pid"`
	// Status is the pod's status (pod.Pod.Status).
	Status pod.Status `json:"status"`
	// Manifest is Server.Manifest: the Kubernetes Pod the pod was made
	// from, as JSON; absent when it was not made from one.
	Manifest json.RawMessage `json:"manifest,omitempty"`
}

// Serve serves the API on ln (from Listen) until ctx is done, then closes
// ln, removes its socket file, and returns once every request has ended (a
// request still streaming logs or running a command is cut off, and the
// command killed). It blocks, and returns nil after ctx is done, or the
// error that made ln fail; every goroutine it started has ended when it
// returns. Serve does not stop the pod: a client's stop and kill requests
// call Stop and Pod.Kill.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("GET /v1/logs", s.logs)
	mux.HandleFunc("POST /v1/exec", s.exec)
	mux.HandleFunc("POST /v1/stop", func(w http.ResponseWriter, r *http.Request) { s.Stop() })
	mux.HandleFunc("POST /v1/kill", func(w http.ResponseWriter, r *http.Request) { s.Pod.Kill() })
	reqCtx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return reqCtx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		return fmt.Errorf("podapi: %w", err)
	}
	cancelRequests()
	err := srv.Shutdown(context.Background())
	<-done
	_ = ln.Close() // a listener from Listen removes its socket
	return err
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, Status{Name: s.Pod.Name(), PID: os.Getpid(), Status: s.Pod.Status(), Manifest: s.Manifest})
}

// logs streams the container's log in the CRI format, one entry a line.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := pod.LogOptions{Previous: q.Get("previous") == "true"}
	if t := q.Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			httpError(w, http.StatusBadRequest, fmt.Errorf("tail: %q is not a number", t))
			return
		}
		opts.Tail = n
	}
	container := q.Get("container")
	if q.Get("follow") != "true" {
		entries, err := s.Pod.Logs(container, opts)
		if err != nil {
			httpError(w, statusOf(err), err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, e := range entries {
			fmt.Fprintln(w, e.String())
		}
		return
	}
	// Errors found before the first entry still get a status code.
	if _, err := s.Pod.Logs(container, opts); err != nil {
		httpError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	_ = s.Pod.FollowLogs(r.Context(), container, opts, func(e pod.LogEntry) error {
		if _, err := fmt.Fprintln(w, e.String()); err != nil {
			return err
		}
		return rc.Flush()
	})
}

// Stream numbers of the exec response frames (see the package
// documentation for the frame format).
const (
	// StreamStdout frames carry the command's standard output.
	StreamStdout = 1
	// StreamStderr frames carry the command's standard error.
	StreamStderr = 2
	// StreamExit is the last frame: an ExitStatus in JSON.
	StreamExit = 3
)

// MaxFrameSize bounds the data of an exec frame: the server splits larger
// writes, and a client refuses a larger frame rather than allocate it.
const MaxFrameSize = 1 << 20

// ExitStatus ends an exec response, and is what Client.Exec returns.
type ExitStatus struct {
	// ExitCode is the command's exit code: 128+n when signal n killed it,
	// 126 when it could not run.
	ExitCode int `json:"exitCode"`
	// Error says why the command could not run; empty when it ran.
	Error string `json:"error,omitempty"`
}

// exec runs a command in a container: the request body is its standard
// input, the response its output and exit status in frames of a 1-byte
// stream number, 3 zero bytes and a 4-byte big-endian length, then the data.
func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	argv := q["arg"]
	if len(argv) == 0 {
		httpError(w, http.StatusBadRequest, errors.New("no command"))
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.EnableFullDuplex(); err != nil {
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.podkit.stream")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	fw := &frameWriter{w: w, flush: rc.Flush}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = fw.stream(StreamStdout), fw.stream(StreamStderr)
	if q.Get("stdin") == "true" {
		cmd.Stdin = r.Body
	}
	var st ExitStatus
	if err := s.Pod.Exec(r.Context(), q.Get("container"), cmd); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			st.ExitCode = exit.ExitCode()
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				st.ExitCode = 128 + int(ws.Signal())
			}
		} else {
			st.ExitCode, st.Error = 126, err.Error()
		}
	}
	data, _ := json.Marshal(st)
	_, _ = fw.write(StreamExit, data)
}

// frameWriter writes frames from several streams, one frame at a time.
type frameWriter struct {
	mu    sync.Mutex
	w     io.Writer
	flush func() error
}

func (f *frameWriter) stream(n byte) io.Writer {
	return writerFunc(func(p []byte) (int, error) { return f.write(n, p) })
}

func (f *frameWriter) write(stream byte, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	written := 0
	for {
		chunk := p[:min(len(p), MaxFrameSize)]
		var hdr [8]byte
		hdr[0] = stream
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(chunk)))
		if _, err := f.w.Write(hdr[:]); err != nil {
			return written, err
		}
		if _, err := f.w.Write(chunk); err != nil {
			return written, err
		}
		written += len(chunk)
		if p = p[len(chunk):]; len(p) == 0 {
			break
		}
	}
	return written, f.flush()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the body of an error response.
type apiError struct {
	Error string `json:"error"`
}

func httpError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(apiError{Error: err.Error()})
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, pod.ErrNoContainer), errors.Is(err, pod.ErrNoPreviousInstance):
		return http.StatusNotFound
	case errors.Is(err, pod.ErrNotRunning), errors.Is(err, pod.ErrInProcess):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}
