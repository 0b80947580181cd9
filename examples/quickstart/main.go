// Command quickstart runs one pod with every pattern of podkit around a web
// app: an init container writes its configuration into a volume; a sidecar
// ships its access log; an ambassador is its only way to the "backend"
// service outside the pod; adapters present its health and metrics in
// standard form; and a published port brings it to the host. It prints
// what to try, and runs until Ctrl-C (or for -duration).
//
//	sudo go run ./examples/quickstart [-duration 30s]
//
// While it runs, the podkit command works on it from another terminal
// (podkit ps, podkit logs quickstart -c web, ...).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod/console"

	"github.com/podkit/podkit/adapter/health"
	"github.com/podkit/podkit/adapter/metrics"
	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/podapi"
	"github.com/podkit/podkit/sidecar"
)

// Addresses on the host.
type addrs struct {
	web, metrics, health string
}

func main() {
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	a := addrs{web: "127.0.0.1:8080", metrics: "127.0.0.1:9102", health: "127.0.0.1:8086"}
	if err := run(ctx, a, podapi.DefaultDir, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// backend is a service outside the pod, on the host, that the app reaches
// only through its ambassador.
func backend() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "42 items in stock (from the backend, outside the pod)")
	})}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// web is the app: it reads its greeting from the volume the init container
// filled, serves / and /stock (asking the backend through the ambassador on
// its own loopback), its status at /status and its own JSON stats at
// /stats, and appends an access log line per request to the volume.
func web(ctx context.Context) error {
	self, _ := pod.FromContext(ctx)
	dir, err := self.Pod.VolumePath("data")
	if err != nil {
		return err
	}
	greeting, err := os.ReadFile(filepath.Join(dir, "greeting.txt"))
	if err != nil {
		return err
	}
	access, err := os.OpenFile(filepath.Join(dir, "access.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer access.Close()
	var mu sync.Mutex
	requests := 0
	client := &http.Client{Transport: &http.Transport{DialContext: self.Pod.DialContext}, Timeout: 5 * time.Second}
	// Idle connections to the ambassador would hold its graceful stop up.
	defer client.CloseIdleConnections()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write(greeting) })
	mux.HandleFunc("/stock", func(w http.ResponseWriter, r *http.Request) {
		resp, err := client.Get("http://127.0.0.1:9000/")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"UP"}`) })
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `{"requests": %d}`, requests)
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if r.URL.Path == "/status" || r.URL.Path == "/stats" {
			return
		}
		mu.Lock()
		requests++
		fmt.Fprintf(access, "%s GET %s\n", time.Now().UTC().Format(time.RFC3339), r.URL.Path)
		mu.Unlock()
	})
	ln, err := self.Pod.Listen(ctx, "tcp", "127.0.0.1:8080")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: logged}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintln(self.Stdout, "web app serving on 127.0.0.1:8080 inside the pod")
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func run(ctx context.Context, a addrs, runDir string, w io.Writer) error {
	out := console.New(w)
	backendAddr, stopBackend, err := backend()
	if err != nil {
		return err
	}
	defer stopBackend()

	setup := pod.Container{Name: "setup", Func: func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		dir, err := self.Pod.VolumePath("data")
		if err != nil {
			return err
		}
		fmt.Fprintln(self.Stdout, "writing the app's configuration")
		return os.WriteFile(filepath.Join(dir, "greeting.txt"), []byte("hello from a podkit pod\n"), 0o644)
	}}
	shipper, err := sidecar.LogShipper{Volume: "data", Patterns: []string{"access.log"}, FromStart: true}.Container("log-shipper")
	if err != nil {
		return err
	}
	amb, err := ambassador.TCP{Listen: "127.0.0.1:9000", Upstreams: []ambassador.Upstream{{Addr: backendAddr}}}.Container("backend-ambassador")
	if err != nil {
		return err
	}
	metrics, err := metrics.Adapter{Listen: a.metrics, Sources: []metrics.Source{{Name: "web",
		JSON: &metrics.JSONSource{Address: "127.0.0.1:8080", Path: "/stats",
			Mappings: []metrics.JSONMapping{{Path: "requests", Name: "web_requests", Type: metrics.Counter, Help: "Requests served."}}}}}}.Container("metrics")
	if err != nil {
		return err
	}
	health, err := health.Adapter{Listen: a.health, Checks: []health.Check{
		{Name: "web", HTTP: &health.HTTP{URL: "http://127.0.0.1:8080/status", JSONField: "status"}},
		{Name: "backend", TCP: &health.TCP{Address: "127.0.0.1:9000"}},
	}}.Container("health")
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(a.web)
	var hostPort int
	fmt.Sscan(port, &hostPort)
	p, err := pod.New("quickstart", pod.Spec{
		TerminationGracePeriod: new(5 * time.Second),
		Volumes:                []pod.Volume{{Name: "data", EmptyDir: &pod.EmptyDirVolume{}}},
		Ports:                  []pod.Port{{ContainerPort: 8080, HostIP: host, HostPort: hostPort}},
		InitContainers: []pod.Container{
			setup,
			shipper,
			amb,
			metrics,
			health,
		},
		Containers: []pod.Container{{Name: "web", Func: web,
			ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/status", Port: 8080}, Period: 200 * time.Millisecond}}},
	},
		// No container reaches the pod API sockets this program serves.
		pod.WithMaskedPaths(runDir))
	if err != nil {
		return err
	}
	// Container output, prefixed; lifecycle events.
	events := p.Subscribe(context.Background())
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		for ev := range events {
			switch ev.Reason {
			case pod.EventStarted, pod.EventExited, pod.EventKilling, pod.EventPodPhase:
				fmt.Fprintf(out, "event | %-8s %-7s %s\n", ev.Reason, ev.Role, ev.Message)
			}
		}
	}()
	followCtx, stopFollowing := context.WithCancel(context.Background())
	var following sync.WaitGroup
	for _, name := range []string{"setup", "log-shipper", "web"} {
		following.Add(1)
		go func() {
			defer following.Done()
			_ = p.FollowLogs(followCtx, name, pod.LogOptions{}, func(e pod.LogEntry) error {
				fmt.Fprintf(out, "%-11s | %s\n", name, e.Text)
				return nil
			})
		}()
	}
	if err := p.Start(ctx); err != nil {
		stopFollowing()
		following.Wait()
		<-eventsDone
		return err
	}
	// The podkit command can inspect the pod while it runs.
	var served chan error
	if ln, err := podapi.Listen(runDir, p.Name()); err == nil {
		srvCtx, endServer := context.WithCancel(context.Background())
		defer func() {
			endServer()
			<-served
		}()
		served = make(chan error, 1)
		go func() { served <- (&podapi.Server{Pod: p, Stop: func() {}}).Serve(srvCtx, ln) }()
	}
	hinted := make(chan struct{})
	go func() {
		defer close(hinted)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !readyPod(p) {
			select {
			case <-p.Done():
				return
			case <-tick.C:
			}
		}
		fmt.Fprintf(out, `
The pod is ready. Try:
  curl http://%[1]s/              # the app, through its published port
  curl http://%[1]s/stock         # the app asks the backend through its ambassador
  curl http://%[2]s/metrics       # the metrics adapter (Prometheus)
  curl http://%[3]s/healthz?verbose
  sudo podkit ps; sudo podkit logs quickstart -c log-shipper -f
Ctrl-C stops the pod gracefully.

`, a.web, a.metrics, a.health)
	}()
	err = p.Wait()
	<-hinted
	stopFollowing()
	following.Wait()
	<-eventsDone
	fmt.Fprintf(out, "pod quickstart finished: phase %s\n", p.Status().Phase)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// readyPod reports whether the web app is ready.
func readyPod(p *pod.Pod) bool {
	c, ok := p.Status().Container("web")
	return ok && c.Ready
}
