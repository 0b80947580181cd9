package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/podkit/podkit/internal/httpserve"
	"github.com/podkit/podkit/internal/memberconf"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/podkit/podkit/pod"

	"github.com/podkit/podkit/internal/promreg"
)

// Adapter is a health adapter: it turns application-specific checks (a
// command, a TCP connect, a Redis PING, an HTTP endpoint and its JSON
// status) into the standard health endpoints of a Kubernetes component, as
// kube-apiserver serves them:
//
//   - /livez, /readyz and /healthz run the checks of their group, each
//     check at most Timeout, all at the same time, and answer 200 "ok" when
//     all pass. When one fails they answer 500 with one line per check,
//     "[+]name ok" or "[-]name failed: reason withheld", and "<group> check
//     failed".
//   - ?verbose lists the checks when they pass too, and gives the reasons
//     of failures and each check's duration: "[+]cache ok (812µs)", "[-]db
//     failed: timeout after 1s (1s)", "[+]api ok (2.1ms, cached)" for a
//     result reused under CacheFor. ?exclude=name skips a check
//     (repeatable); a name that matches no check is reported with a "warn:"
//     line, as kube-apiserver does.
//   - /livez/<name>, /readyz/<name> and /healthz/<name> run one check:
//     200 "ok", or 500 "internal server error: reason".
//
// Only GET and HEAD are served. A check is in /livez and /readyz unless it
// says which one it belongs to (Check.Liveness and Readiness); /healthz
// has all of them.
//
// An Adapter is configuration; Container, Run and Handler do not change
// it.
// Its JSON form (the one ExportArgs and Parse use) writes durations
// as strings ("1.5s").
type Adapter struct {
	// Listen is the address the endpoints are served on for monitors:
	// "127.0.0.1:8086". In-process (see pod.FromContext) it is in the
	// supervising program's network namespace, the host's, where an outside
	// monitor (or a probe of another pod's ambassador) reaches it; in the
	// process form it is where the adapter runs. Required.
	Listen string `json:"listen"`
	// PodListen, when set, is a second address the endpoints are served on,
	// inside the pod's network namespace when in-process, so that the pod's
	// own probes (which connect from inside the pod) can use them: a
	// readiness probe with HTTPGet{Port: 8086, Path: "/readyz"} for
	// PodListen "127.0.0.1:8086". In the process form, where the adapter
	// already runs in the pod, an address equal to Listen is served once.
	// A Container with PodListen has a startup probe that passes once the
	// adapter listens there, so that the containers after it start once
	// their probes can reach it.
	PodListen string `json:"podListen,omitempty"`
	// Checks are the application's checks. At least one is required, and
	// their names are unique.
	Checks []Check `json:"checks" flag:"check"`
	// Timeout bounds each run of a check; a check that has not finished by
	// then fails with the reason "timeout after <Timeout>". Zero means
	// DefaultTimeout (1s).
	Timeout time.Duration `json:"timeout,omitempty"`
	// CacheFor, when positive, has a check's result reused for this long
	// after it was obtained, so that a flood of requests (several monitors,
	// probes of every container) does not become a flood of checks against
	// the application. Zero means each request runs the checks anew, except
	// that a request arriving while a check runs shares that run's result:
	// a check never runs twice at the same time.
	CacheFor time.Duration `json:"cacheFor,omitempty"`
	// ReadHeaderTimeout bounds the reading of a request's line and headers:
	// a client that has not sent them by then is disconnected. Zero means
	// 10s, negative no bound.
	ReadHeaderTimeout time.Duration `json:"readHeaderTimeout,omitempty" help:"disconnect a client that has not sent its headers within (default 10s; negative: no bound)"`
	// ReadTimeout bounds the reading of a whole request, body included (the
	// endpoints take none). Zero means 30s, negative no bound.
	ReadTimeout time.Duration `json:"readTimeout,omitempty" help:"disconnect a client that has not sent its whole request within (default 30s; negative: no bound)"`
	// IdleTimeout closes a keep-alive connection that sends no new request
	// for this long. Zero means 60s, negative never.
	IdleTimeout time.Duration `json:"idleTimeout,omitempty" help:"close a connection idle this long between requests (default 60s; negative: never)"`
	// MaxHeaderBytes bounds a request's line and headers (net/http allows
	// 4 KiB more); a larger request is answered 431. Zero means 64 KiB.
	MaxHeaderBytes int `json:"maxHeaderBytes,omitempty" help:"largest request line and headers, in bytes (default 65536)"`
	// MaxConns bounds the connections open at once on each of Listen and
	// PodListen; at the limit the adapter stops accepting there until one
	// closes, and clients wait in the kernel's accept queue. Zero means
	// 1024, negative no limit.
	MaxConns int `json:"maxConns,omitempty" help:"stop accepting at this many open connections, per address (default 1024; negative: no limit)"`
	// Registerer, when set, receives the adapter's metrics for as long as
	// Run runs, labelled adapter=<container name>:
	// podkit_adapter_health_check_up{check} (1 when the last run passed,
	// 0 when it failed) and podkit_adapter_health_check_duration_seconds
	// {check} (a histogram of the runs' durations). Metrics already
	// registered under the same names and labels (by another adapter of
	// the same name) are shared, and left registered when Run returns.
	Registerer prometheus.Registerer `json:"-"`
	// Logger, when set, is told each change of a check's result (failed,
	// with its reason, then passed again). Nil means Run writes those
	// changes to the container's standard output (this program's outside a
	// pod), and Handler writes them nowhere.
	Logger *zap.Logger `json:"-"`
}

// Check is one check of a health adapter. Exactly one of Command,
// TCP, Redis and HTTP is set.
type Check struct {
	// Name identifies the check in the endpoints' output and paths
	// (/readyz/<name>) and in the metrics. Required; a DNS-1123 label
	// (lower-case letters, digits and '-', at most 63 characters), unique
	// among the checks.
	Name string `json:"name"`
	// Liveness and Readiness say which endpoints run the check: /livez,
	// /readyz, or both when both or neither are set. /healthz runs every
	// check.
	Liveness  bool `json:"liveness,omitempty"`
	Readiness bool `json:"readiness,omitempty"`

	// Command runs a command; exit status 0 passes.
	Command *Command `json:"command,omitempty"`
	// TCP connects to an address; an accepted connection passes.
	TCP *TCP `json:"tcp,omitempty"`
	// Redis sends PING to a Redis server; +PONG passes.
	Redis *Redis `json:"redis,omitempty"`
	// HTTP sends a GET; a 2xx status (and the expected JSON status, if
	// asked) passes.
	HTTP *HTTP `json:"http,omitempty"`
}

// Command runs a command. In-process it runs in a container of the
// pod, as Pod.Exec runs it (its namespaces, filesystem and environment);
// in the process form it runs where the adapter runs, in the adapter's own
// container, which must then hold the command. When the run's time is up
// the command is killed (with its process group outside a pod).
type Command struct {
	// Container is the container to run the command in: a process (not an
	// in-process container) of the adapter's pod. Required in-process;
	// ignored outside a pod.
	Container string `json:"container,omitempty"`
	// Command is the executable and its arguments. Required. A failure's
	// reason holds the end of its output.
	Command []string `json:"command"`
}

// TCP connects to an address: inside the pod when in-process, where
// the adapter runs otherwise.
type TCP struct {
	// Address is the host:port to connect to: "127.0.0.1:5432". Required.
	Address string `json:"address"`
}

// Redis checks a Redis server (or anything that speaks RESP, such as
// Valkey or KeyDB) with PING, after AUTH when a password is set, over a
// connection made inside the pod when in-process, where the adapter runs
// otherwise. The reply must be +PONG: a LOADING, NOAUTH or any other error
// reply fails the check with the server's message.
type Redis struct {
	// Address is the server's host:port: "127.0.0.1:6379". Required.
	Address string `json:"address"`
	// Username, with a password, authenticates as an ACL user (AUTH
	// username password); empty means AUTH password.
	Username string `json:"username,omitempty"`
	// Password, when set, is sent with AUTH before PING. It is part of the
	// adapter's configuration, and so of its ExportArgs: PasswordFile
	// keeps it out of them.
	Password string `json:"password,omitempty"`
	// PasswordFile, instead of Password, is a file that holds the password
	// (a trailing newline is ignored), read at each check so that a
	// rotated secret is picked up. In-process it is a path of the
	// supervising program; in the process form, of the adapter's
	// container (a volume is at /podkit/volumes/<name>).
	PasswordFile string `json:"passwordFile,omitempty"`
}

// HTTP sends a GET request, from inside the pod when in-process,
// where the adapter runs otherwise, without a proxy and without following
// redirects. A 2xx status passes, unless JSONField is set: then the body
// (at most 1 MiB) must be a JSON object whose field is one of OKValues.
type HTTP struct {
	// URL is the http:// or https:// URL to get:
	// "http://127.0.0.1:8080/health". Required. An https URL's certificate
	// is verified against the system's roots.
	URL string `json:"url"`
	// JSONField, when set, names the field of the JSON body that holds the
	// application's status: "status" for {"status":"UP"} (Spring Boot) or
	// {"status":"pass"} (the IETF health check format). Dots reach nested
	// objects: "health.status".
	JSONField string `json:"jsonField,omitempty"`
	// OKValues are the values of JSONField that pass, compared exactly; a
	// boolean or number field is compared in its JSON form ("true").
	// Empty means DefaultOKValues.
	OKValues []string `json:"okValues,omitempty"`
}

// Defaults of a health adapter.
const (
	// DefaultTimeout bounds a check's run when Adapter.Timeout is 0.
	DefaultTimeout = time.Second
	// MaxBody bounds the body an HTTP check reads.
	MaxBody = 1 << 20
	// DefaultReadTimeout bounds the reading of a request when
	// Adapter.ReadTimeout is 0.
	DefaultReadTimeout = 30 * time.Second
)

// DefaultOKValues are the values of an HTTP check's JSON field that
// pass when it sets none: those of common health formats.
var DefaultOKValues = []string{"ok", "UP", "up", "healthy", "pass"}

// Parse reads an Adapter from its configuration document, JSON or YAML
// (the --config of "podkit adapter health"): unknown fields are an error
// that names their path, and durations are strings ("1.5s"). It checks the
// result as Run does outside a pod, and names the first bad field.
func Parse(data []byte) (Adapter, error) {
	var h Adapter
	if err := memberconf.Decode(data, &h); err != nil {
		return Adapter{}, fmt.Errorf("health: config: %w", err)
	}
	if _, err := h.compile("health", nil, false); err != nil {
		return Adapter{}, err
	}
	return h, nil
}

// Container returns an in-process sidecar (RestartPolicy Always, to be
// placed in a pod spec's InitContainers) named name that runs h, with
// ExportArgs "adapter health FLAGS..." for a pod exported to Kubernetes.
// With PodListen it has a startup probe on that address. Container checks h
// as Run does in-process (a command check names its container), and names
// the first bad field.
func (h Adapter) Container(name string) (pod.Container, error) {
	if name == "" {
		return pod.Container{}, errors.New("health: name: required")
	}
	if _, err := h.compile(name, nil, true); err != nil {
		return pod.Container{}, err
	}
	args, err := memberconf.Args(h)
	if err != nil {
		return pod.Container{}, fmt.Errorf("health: %w", err)
	}
	c := pod.Container{Name: name, RestartPolicy: pod.RestartAlways, Func: h.Run,
		ExportArgs: append([]string{"adapter", "health"}, args...)}
	if h.PodListen != "" {
		c.StartupProbe = pod.ListenProbe(h.PodListen)
	}
	return c, nil
}

// Run serves the endpoints until ctx is done, then stops accepting, lets
// the requests in flight finish (each is bounded by Timeout), waits for the
// checks it started, and returns nil. Nothing it started outlives it:
// listeners, connections, goroutines, commands, and the metrics it
// registered.
//
// In-process (see pod.FromContext) it listens on Listen in the supervising
// program's network namespace and on PodListen inside the pod's, runs
// command checks in the pod's containers and makes its connections inside
// the pod. Outside a pod (the process form, in a pod exported to
// Kubernetes) it does all of that where it runs. Run returns an error if h
// is invalid, if it cannot listen or register its metrics, or if serving
// fails.
func (h Adapter) Run(ctx context.Context) error {
	name := "health"
	var (
		p      *pod.Pod
		out    = io.Writer(os.Stdout)
		killed <-chan struct{} // never closed outside a pod
	)
	self, inPod := pod.FromContext(ctx)
	if inPod {
		name, p, out, killed = self.Container, self.Pod, self.Stdout, self.Killed
	}
	hc, err := h.compile(name, p, inPod)
	if err != nil {
		return err
	}
	if h.Logger == nil {
		hc.out = out
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", h.Listen)
	if err != nil {
		return fmt.Errorf("health: listen: %w", err)
	}
	lns = append(lns, ln)
	if h.PodListen != "" && (inPod || h.PodListen != h.Listen) {
		if inPod {
			ln, err = p.Listen(ctx, "tcp", h.PodListen)
		} else {
			ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", h.PodListen)
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("health: podListen: %w", err)
		}
		lns = append(lns, ln)
	}
	if h.Registerer != nil {
		reg := promreg.New(h.Registerer)
		defer reg.Unregister()
		if err := hc.metrics.register(reg); err != nil {
			closeAll()
			return fmt.Errorf("health: metrics: %w", err)
		}
	} else {
		hc.metrics = nil
	}
	defer hc.close()

	// A request's checks end within Timeout: its answer has 10s more.
	lim := h.limits()
	lim.WriteTimeout = hc.timeout + 10*time.Second
	srv := httpserve.Server(hc, lim)
	served := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { served <- srv.Serve(httpserve.Listen(ln, lim)) }()
	}
	var serveErr error
	select {
	case serveErr = <-served:
	case <-ctx.Done():
	}
	// The requests in flight end within Timeout, once their checks have;
	// a container killed past its grace period stops waiting for them.
	drainCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-killed:
			cancel()
		case <-drainCtx.Done():
		}
	}()
	if err := srv.Shutdown(drainCtx); err != nil {
		srv.Close()
	}
	pending := len(lns)
	if serveErr != nil {
		pending--
	}
	for range pending {
		<-served
	}
	if serveErr != nil {
		return fmt.Errorf("health: %w", serveErr)
	}
	return nil
}

// Handler returns the endpoints of h as an http.Handler, for a program
// that serves them in a server of its own (or a test). The pod is the one
// of pod.FromContext(ctx), as for Run: the checks run in it, and the
// metrics are labelled with its container's name; without a pod they run
// where the program runs. The handler logs the changes of the checks'
// results only to h.Logger, and records metrics to h.Registerer.
//
// The handler may be used from any number of goroutines. A request runs
// the checks it needs, each bounded by Timeout, and returns once they are
// done or its context is; a check's run, shared by the requests that wait
// for it, ends within Timeout even when they all have gone. When ctx is
// done the checks in progress are cancelled, the metrics unregistered,
// and the handler must serve no more requests.
func (h Adapter) Handler(ctx context.Context) (http.Handler, error) {
	name, p := "health", (*pod.Pod)(nil)
	self, inPod := pod.FromContext(ctx)
	if inPod {
		name, p = self.Container, self.Pod
	}
	hc, err := h.compile(name, p, inPod)
	if err != nil {
		return nil, err
	}
	reg := promreg.New(h.Registerer)
	if h.Registerer == nil {
		hc.metrics = nil
	} else if err := hc.metrics.register(reg); err != nil {
		reg.Unregister()
		return nil, fmt.Errorf("health: metrics: %w", err)
	}
	context.AfterFunc(ctx, func() {
		hc.close()
		reg.Unregister()
	})
	return hc, nil
}

// limits are the bounds of h's server, but its write timeout.
func (h Adapter) limits() httpserve.Limits {
	return httpserve.Limits{ReadHeaderTimeout: h.ReadHeaderTimeout, ReadTimeout: cmp.Or(h.ReadTimeout, DefaultReadTimeout),
		IdleTimeout: h.IdleTimeout, MaxHeaderBytes: h.MaxHeaderBytes, MaxConns: h.MaxConns}
}
