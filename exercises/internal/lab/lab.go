// Package lab is the scaffolding the exercises' programs share, so that each
// main.go holds only the part a learner works on. It runs a program for a
// bounded time, re-executes it as a container's process, and prints what
// the checker (exercises/check) reads, in one fixed format:
//
//	event +1.234s Started app role=main pid=4242 msg="Started container app (pid 4242)"
//	event +1.300s Ready - ready=true msg="..."          (a pod-level event: no container)
//	app | a line the container "app" wrote
//	pid child 4242                                     (a process started without a pod)
//
// The time of an event is counted from the program's start. Only programs
// under exercises/ can import lab: copy an exercise next to its starter
// (exercises/NN-name/mine, say) to keep the starter as it was.
package lab

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod"
)

// roleFlag is the first argument of this program when it runs as a
// container's process (see Self and Roles).
const roleFlag = "-role"

// Main runs an exercise's program: it parses the command line (a
// -duration flag, and any flag the program defined before calling Main),
// runs run with a context that is done after that duration or on Ctrl-C
// (SIGINT) or SIGTERM, and exits 0 if run returned nil or returned because
// that context was done, 1 otherwise. Output goes to standard output.
func Main(defaultDuration time.Duration, run func(ctx context.Context, out *Out) error) {
	duration := flag.Duration("duration", defaultDuration, "stop after this long")
	flag.Parse()
	out := NewOut(os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	err := run(ctx, out)
	if err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = nil // stopped on request: that is how a pod ends here
	}
	if err != nil {
		out.Printf("error: %v", err)
		cancel()
		stop()
		os.Exit(1)
	}
	out.Printf("exit: ok")
}

// Self returns the command that runs this program again as the named role:
// give it as a pod.Container's Command, and call Roles first thing in main.
func Self(role string) []string {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	return []string{exe, roleFlag, role}
}

// Roles runs the role this copy of the program was started as (see Self),
// if it was, and exits with the code the role returns. Otherwise it
// returns, and main goes on as the supervising program.
func Roles(roles map[string]func() int) {
	if len(os.Args) != 3 || os.Args[1] != roleFlag {
		return
	}
	role, ok := roles[os.Args[2]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown role %q\n", os.Args[2])
		os.Exit(2)
	}
	os.Exit(role())
}

// Out writes the program's lines, one whole line at a time, from any
// goroutine.
type Out struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

// NewOut returns an Out writing to w; event times count from now.
func NewOut(w io.Writer) *Out {
	return &Out{w: w, start: time.Now()}
}

// Printf writes one line.
func (o *Out) Printf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	fmt.Fprintln(o.w, strings.TrimSuffix(line, "\n"))
}

// PID writes "pid <name> <pid>": the host PID of a process the program
// started.
func (o *Out) PID(name string, pid int) {
	o.Printf("pid %s %d", name, pid)
}

// Prefix returns a writer that writes each line it gets as
// "<name> | <line>": give it as a container's Stdout and Stderr.
func (o *Out) Prefix(name string) io.Writer {
	return &prefixWriter{out: o, prefix: name + " | "}
}

// Events prints every event of p as an "event" line, from now until p has
// finished; the channel it returns is closed then. Call it before p.Run or
// p.Start, and wait for the channel after Run returns, so that no event is
// lost.
func (o *Out) Events(p *pod.Pod) <-chan struct{} {
	events := p.Subscribe(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			o.Printf("%s", o.format(ev))
		}
	}()
	return done
}

// pidInMessage finds the PID in a Started event's message.
var pidInMessage = regexp.MustCompile(`\(pid (\d+)\)`)

// format renders ev as an event line.
func (o *Out) format(ev pod.Event) string {
	var b strings.Builder
	container := ev.Container
	if container == "" {
		container = "-"
	}
	fmt.Fprintf(&b, "event +%.3fs %s %s", ev.Time.Sub(o.start).Seconds(), ev.Reason, container)
	if (ev.Role != "" && ev.Container != "") || ev.Role == pod.RoleInfra {
		fmt.Fprintf(&b, " role=%s", ev.Role)
	}
	switch ev.Reason {
	case pod.EventStarted:
		if m := pidInMessage.FindStringSubmatch(ev.Message); m != nil {
			fmt.Fprintf(&b, " pid=%s", m[1])
		}
	case pod.EventExited:
		fmt.Fprintf(&b, " exit=%d", ev.ExitCode)
		if ev.Signal != 0 {
			fmt.Fprintf(&b, " signal=%d", int(ev.Signal))
		}
	case pod.EventBackOff:
		fmt.Fprintf(&b, " delay=%s", ev.Delay)
	case pod.EventReady:
		fmt.Fprintf(&b, " ready=%t", ev.Ready)
	case pod.EventPodPhase:
		fmt.Fprintf(&b, " phase=%s", ev.Phase)
	}
	if ev.Message != "" {
		fmt.Fprintf(&b, " msg=%s", strconv.Quote(ev.Message))
	}
	return b.String()
}

// prefixWriter writes whole lines with a prefix through an Out.
type prefixWriter struct {
	out    *Out
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		p.out.Printf("%s%s", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}
