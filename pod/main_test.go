package pod_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

// helperEnv selects a helper program in the test binary, used as a
// container's command where the tests need more than sh offers.
const helperEnv = "PODKIT_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

func runHelper(name string, args []string) int {
	switch name {
	case "listen": // listen ADDR: greet every connection with the hostname
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		fmt.Println("listening")
		host, _ := os.Hostname()
		for {
			c, err := ln.Accept()
			if err != nil {
				return 1
			}
			fmt.Fprintf(c, "hello from %s\n", host)
			c.Close()
		}
	case "http": // http ADDR STATUS: answer every request with STATUS
		status, _ := strconv.Atoi(args[1])
		fmt.Println("serving")
		err := http.ListenAndServe(args[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
		}))
		fmt.Println(err)
		return 1
	case "grpc": // grpc ADDR SERVICE=STATUS...: serve grpc.health.v1 with these statuses
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		hs := health.NewServer()
		for _, kv := range args[1:] {
			svc, st, _ := strings.Cut(kv, "=")
			hs.SetServingStatus(svc, healthpb.HealthCheckResponse_ServingStatus(healthpb.HealthCheckResponse_ServingStatus_value[st]))
		}
		srv := grpc.NewServer()
		healthpb.RegisterHealthServer(srv, hs)
		fmt.Println("serving")
		fmt.Println(srv.Serve(ln))
		return 1
	case "dial": // dial ADDR: print the greeting, retrying for a while
		var err error
		for range 100 {
			var c net.Conn
			if c, err = net.Dial("tcp", args[0]); err == nil {
				line, _ := bufio.NewReader(c).ReadString('\n')
				fmt.Print(line)
				return 0
			}
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Println("dial:", err)
		return 1
	case "dial-once": // dial-once ADDR: exit 0 if a connection succeeds
		c, err := net.DialTimeout("tcp", args[0], time.Second)
		if err != nil {
			fmt.Println("dial:", err)
			return 1
		}
		c.Close()
		return 0
	case "forkbomb": // forkbomb N: start N sleeps, report, block
		n, _ := strconv.Atoi(args[0])
		started, failed := 0, 0
		var firstErr error
		for range n {
			if err := exec.Command("sleep", "1000").Start(); err != nil {
				failed++
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			started++
		}
		fmt.Printf("started %d failed %d: %v\n", started, failed, firstErr)
		select {}
	case "supervisor": // supervisor SHARED: run a pod, print its PIDs, block
		return runSupervisor(args[0] == "true")
	case "hostview-supervisor": // hostview-supervisor STATE FILE: run a pod whose container writes FILE, print its infra's PID once written, block
		p, err := pod.New("orphaned-view", pod.Spec{
			Containers: []pod.Container{{Name: "c", Command: []string{"sh", "-c", "echo layer > " + args[1] + "; echo written; exec sleep 1000"}}},
		}, pod.WithStateDir(args[0]))
		if err == nil {
			err = p.Start(context.Background())
		}
		for err == nil {
			if entries, _ := p.Logs("c", pod.LogOptions{}); len(entries) > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println(p.Status().InfraPID)
		select {}
	case "bridged-supervisor": // bridged-supervisor: run a bridged pod, print its infra's PID and its IP, block
		p, err := pod.New("orphaned-net", pod.Spec{
			Network:    pod.Network{Mode: pod.NetworkBridged},
			Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
		})
		if err == nil {
			err = p.Start(context.Background())
		}
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println(p.Status().InfraPID, p.Status().PodIP)
		select {}
	case "newpod": // newpod: run a pod and print the error
		p, err := pod.New("unprivileged", pod.Spec{
			Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
		})
		if err == nil {
			err = p.Run(context.Background())
		}
		fmt.Println(err)
		return 0
	}
	fmt.Println("unknown helper", name)
	return 2
}

// runSupervisor runs a pod whose containers double-fork a daemon, with a
// memory-backed emptyDir, prints the host PIDs of the infra and the
// containers, and blocks until killed.
func runSupervisor(shared bool) int {
	p, err := pod.New("orphaned", pod.Spec{
		ShareProcessNamespace: shared,
		Volumes:               []pod.Volume{{Name: "scratch", EmptyDir: &pod.EmptyDirVolume{Medium: pod.MediumMemory}}},
		Containers: []pod.Container{
			{Name: "a", Command: []string{"sh", "-c", "(sleep 1000 &); exec sleep 1000"}},
			{Name: "b", Command: []string{"sleep", "1000"},
				VolumeMounts: []pod.VolumeMount{{Name: "scratch", MountPath: os.TempDir()}}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	events := p.Subscribe(context.Background())
	if err := p.Start(context.Background()); err != nil {
		fmt.Println(err)
		return 1
	}
	started := 0
	for ev := range events {
		if ev.Reason == pod.EventStarted && ev.Role == pod.RoleMain {
			started++
		}
		if started == 2 {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // let the daemon fork
	st := p.Status()
	pids := []string{fmt.Sprint(st.InfraPID)}
	for _, c := range st.Containers {
		pids = append(pids, fmt.Sprint(c.PID))
	}
	fmt.Println(strings.Join(pids, " "))
	select {}
}

// helperCommand returns a container command running the named helper.
func helperCommand(t testing.TB, name string, args ...string) ([]string, []string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return append([]string{exe}, args...), []string{helperEnv + "=" + name}
}

// requireRoot and requireTool skip a test whose prerequisite is missing,
// unless CI=true, where they fail it.
var (
	requireRoot = testenv.RequireRoot
	requireTool = testenv.RequireTool
)

// recorder collects a pod's events and lets a test wait for a state.
type recorder struct {
	t      testing.TB
	p      *pod.Pod
	ch     <-chan pod.Event
	events []pod.Event
	unseen []pod.Event // given back by unread
}

// unread gives the last event back, for the next until to see again.
func (r *recorder) unread() {
	last := r.events[len(r.events)-1]
	r.events = r.events[:len(r.events)-1]
	r.unseen = append(r.unseen, last)
}

func record(t testing.TB, p *pod.Pod) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &recorder{t: t, p: p, ch: p.Subscribe(ctx)}
}

// until reads events until cond holds for the latest event, and returns it.
func (r *recorder) until(what string, cond func(pod.Event) bool) pod.Event {
	r.t.Helper()
	for len(r.unseen) > 0 {
		ev := r.unseen[0]
		r.unseen = r.unseen[1:]
		r.events = append(r.events, ev)
		if cond(ev) {
			return ev
		}
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-r.ch:
			if !ok {
				r.t.Fatalf("event stream ended waiting for %s; events:\n%s", what, r)
			}
			r.events = append(r.events, ev)
			if cond(ev) {
				return ev
			}
		case <-timeout:
			r.t.Fatalf("timed out waiting for %s; events:\n%s", what, r)
		}
	}
}

// rest reads the remaining events until the stream closes.
func (r *recorder) rest() {
	r.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-r.ch:
			if !ok {
				return
			}
			r.events = append(r.events, ev)
		case <-timeout:
			r.t.Fatalf("timed out waiting for the end of events; events:\n%s", r)
		}
	}
}

func (r *recorder) String() string {
	var b strings.Builder
	for _, ev := range r.events {
		fmt.Fprintf(&b, "  %s %s/%s %s\n", ev.Reason, ev.Role, ev.Container, ev.Message)
	}
	return b.String()
}

// reasons lists "reason container" for the recorded events that match keep.
func (r *recorder) reasons(keep func(pod.Event) bool) []string {
	var out []string
	for _, ev := range r.events {
		if keep == nil || keep(ev) {
			out = append(out, strings.TrimSpace(ev.Reason+" "+ev.Container))
		}
	}
	return out
}

func isReason(reason, container string) func(pod.Event) bool {
	return func(ev pod.Event) bool { return ev.Reason == reason && ev.Container == container }
}

func isPhase(ph pod.Phase) func(pod.Event) bool {
	return func(ev pod.Event) bool { return ev.Reason == pod.EventPodPhase && ev.Phase == ph }
}

// stateVolume and stateMount give containers a directory, /run/state,
// that outlives their restarts and that they share: a container's writes
// to the host's files stay its own and end with it.
func stateVolume() pod.Volume { return pod.Volume{Name: "state", EmptyDir: &pod.EmptyDirVolume{}} }

func stateMount() []pod.VolumeMount {
	return []pod.VolumeMount{{Name: "state", MountPath: "/run/state"}}
}

// startPod starts a pod with a recorder of its events (subscribed before
// Start, so that it sees every event), and
// returns a cancel that stops it; the pod is stopped and waited for at the
// end of the test in any case.
func startPod(t testing.TB, name string, spec pod.Spec, opts ...pod.Option) (*pod.Pod, *recorder, context.CancelFunc) {
	t.Helper()
	requireRoot(t)
	p, err := pod.New(name, spec, opts...)
	require.NoError(t, err)
	rec := record(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, p.Start(ctx))
	t.Cleanup(func() {
		cancel()
		_ = p.Wait()
	})
	return p, rec, cancel
}

// logText returns the container's buffered output lines.
func logText(t testing.TB, p *pod.Pod, container string, opts pod.LogOptions) []string {
	t.Helper()
	entries, err := p.Logs(container, opts)
	require.NoError(t, err)
	var lines []string
	for _, e := range entries {
		lines = append(lines, e.Text)
	}
	return lines
}

// waitLogs waits until the container has written at least n lines.
func waitLogs(t testing.TB, p *pod.Pod, container string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		return len(logText(t, p, container, pod.LogOptions{})) >= n
	}, 20*time.Second, 5*time.Millisecond, "container %q wrote fewer than %d lines", container, n)
}
