package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// exercise is one exercise and how its program is checked.
type exercise struct {
	num   int
	dir   string // directory name under exercises/
	title string
	// duration is the -duration the program gets.
	duration time.Duration
	// args returns further arguments for the program; nil means none.
	args func(s *session) []string
	// check checks a running program: it may watch the program while it
	// runs (await), then waits for its end (finish) and checks its output.
	check func(s *session)
}

// path returns the directory of the exercise's starter or solution.
func (ex *exercise) path(solution bool) string {
	sub := "starter"
	if solution {
		sub = "solution"
	}
	return filepath.Join(exercisesDir(), ex.dir, sub)
}

// session is one run of an exercise's program, with what it printed.
type session struct {
	*report
	ex    *exercise
	tmp   string // holds the program, which runs itself again as containers
	cmd   *exec.Cmd
	start time.Time
	vals  map[string]string // what args chose, for the checks

	mu     sync.Mutex
	lines  []string
	times  []time.Duration // when each line came, since the program started
	wake   chan struct{}   // closed and replaced when a line comes or the program exits
	exited bool
	code   int    // the exit code, once exited
	status string // how it exited, as os.ProcessState says
	// output is closed once the program's output has ended: it has exited,
	// with every process that inherited its output.
	output chan struct{}
}

// start builds the program in dir and starts it.
func start(ctx context.Context, ex *exercise, dir string, r *report, w io.Writer, verbose bool) (*session, error) {
	tmp, err := os.MkdirTemp("", "podkit-check-")
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			os.RemoveAll(tmp)
		}
	}()
	bin := filepath.Join(tmp, fmt.Sprintf("ex%02d", ex.num))
	build := exec.CommandContext(ctx, goTool(), "build", "-o", bin, ".")
	build.Dir = dir
	msg, err := build.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("the program in %s does not build; fix these errors first:\n%s", displayPath(dir), indent(string(msg)))
	}
	r.ok("the program builds")

	s := &session{report: r, ex: ex, tmp: tmp, vals: map[string]string{}, wake: make(chan struct{}), output: make(chan struct{})}
	args := []string{"-duration", ex.duration.String()}
	if ex.args != nil {
		args = append(args, ex.args(s)...)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	s.start = time.Now()
	err = s.cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("the program does not start: %w", err)
	}
	started = true
	go s.read(pr, w, verbose)
	go func() {
		err := s.cmd.Wait()
		<-s.output
		code, status := 0, "exit status 0"
		if err != nil {
			code, status = -1, err.Error()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode() // -1 when killed by a signal
			}
		}
		s.mu.Lock()
		s.exited, s.code, s.status = true, code, status
		s.wakeLocked()
		s.mu.Unlock()
	}()
	go func() {
		select {
		case <-ctx.Done(): // the checker was interrupted
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
		case <-s.output:
		}
	}()
	return s, nil
}

// read collects the program's output lines until it closes its end.
func (s *session) read(r io.ReadCloser, w io.Writer, verbose bool) {
	defer close(s.output)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if verbose {
			fmt.Fprintf(w, "   | %s\n", sc.Text())
		}
		s.mu.Lock()
		s.lines = append(s.lines, sc.Text())
		s.times = append(s.times, time.Since(s.start))
		s.wakeLocked()
		s.mu.Unlock()
	}
}

func (s *session) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// await waits up to timeout for a line matching re, from the start of the
// output, and returns its submatches and index. It gives up early when the
// program has exited.
func (s *session) await(re *regexp.Regexp, timeout time.Duration) (match []string, index int, ok bool) {
	index, ok = s.awaitLine(timeout, func(_ int, line string) bool {
		match = re.FindStringSubmatch(line)
		return match != nil
	})
	return match, index, ok
}

// awaitEvent waits up to timeout for an event (see parseEvent) for which
// match is true.
func (s *session) awaitEvent(timeout time.Duration, match func(event) bool) (ev event, ok bool) {
	_, ok = s.awaitLine(timeout, func(i int, line string) bool {
		var isEvent bool
		ev, isEvent = parseEvent(line, i)
		return isEvent && match(ev)
	})
	return ev, ok
}

// awaitLine waits up to timeout for a line for which match is true, from
// the start of the output, and returns its index. It gives up early when
// the program has exited. match is called with s.mu held.
func (s *session) awaitLine(timeout time.Duration, match func(index int, line string) bool) (int, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	seen := 0
	for {
		s.mu.Lock()
		for ; seen < len(s.lines); seen++ {
			if match(seen, s.lines[seen]) {
				s.mu.Unlock()
				return seen, true
			}
		}
		exited, wake := s.exited, s.wake
		s.mu.Unlock()
		if exited {
			return -1, false
		}
		select {
		case <-wake:
		case <-timer.C:
			return -1, false
		}
	}
}

// finish waits for the program to stop by itself, a few seconds after its
// -duration at most, reports how it ended, and reports whether it exited 0.
// Past that bound it stops the program.
func (s *session) finish() bool {
	bound := s.ex.duration + 10*time.Second
	deadline := time.NewTimer(time.Until(s.start.Add(bound)))
	defer deadline.Stop()
	for {
		s.mu.Lock()
		exited, code, status, wake := s.exited, s.code, s.status, s.wake
		s.mu.Unlock()
		if exited {
			if code == 0 {
				s.ok("the program stopped by itself and exited 0")
				return true
			}
			last := ""
			for _, l := range s.all() {
				if strings.HasPrefix(l, "error: ") {
					last = ": " + l
				}
			}
			s.fail("the program ended with %s%s", status, last)
			return false
		}
		select {
		case <-wake:
		case <-deadline.C:
			s.fail("the program did not stop within %s of its -duration %s: when its context is done, it must stop its pod and return (does an in-process container ignore its context?)",
				bound-s.ex.duration, s.ex.duration)
			s.stop()
			return false
		}
	}
}

// stop ends the program if it still runs: SIGTERM, then SIGKILL after 5
// seconds, waits until it has exited, and removes it.
func (s *session) stop() {
	defer os.RemoveAll(s.tmp)
	select {
	case <-s.output:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.output:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	for {
		s.mu.Lock()
		exited, wake := s.exited, s.wake
		s.mu.Unlock()
		if exited {
			return
		}
		<-wake
	}
}

// all returns every line the program has printed so far.
func (s *session) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// at returns when line i came, in seconds since the program started: the
// time of an event line, for the lines the program printed without one.
func (s *session) at(i int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.times[i].Seconds()
}

// events returns every event line the program has printed so far.
func (s *session) events() events {
	var evs events
	for i, l := range s.all() {
		if ev, ok := parseEvent(l, i); ok {
			evs = append(evs, ev)
		}
	}
	return evs
}

// lineIndex returns the index of the first line matching re, or -1.
func (s *session) lineIndex(re *regexp.Regexp) int {
	for i, l := range s.all() {
		if re.MatchString(l) {
			return i
		}
	}
	return -1
}

// count returns how many lines match re.
func (s *session) count(re *regexp.Regexp) int {
	n := 0
	for _, l := range s.all() {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// event is one "event" line of the program's output (see package lab):
//
//	event +1.234s Started app role=main pid=4242 msg="Started container app (pid 4242)"
type event struct {
	line      int     // index in the output
	at        float64 // seconds since the program started
	reason    string
	container string // "-" for the pod
	fields    map[string]string
}

var eventLine = regexp.MustCompile(`^event \+([0-9.]+)s (\S+) (\S+)(.*)$`)
var eventField = regexp.MustCompile(` (\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// parseEvent parses an event line.
func parseEvent(line string, index int) (event, bool) {
	m := eventLine.FindStringSubmatch(line)
	if m == nil {
		return event{}, false
	}
	at, _ := strconv.ParseFloat(m[1], 64)
	ev := event{line: index, at: at, reason: m[2], container: m[3], fields: map[string]string{}}
	for _, f := range eventField.FindAllStringSubmatch(m[4], -1) {
		v := f[2]
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		ev.fields[f[1]] = v
	}
	return ev, true
}

// is reports whether ev has the reason and container given.
func (ev event) is(reason, container string) bool {
	return ev.reason == reason && ev.container == container
}

// events is the program's events, in order.
type events []event

// of returns the events with the reason and container given.
func (evs events) of(reason, container string) events {
	var out events
	for _, ev := range evs {
		if ev.is(reason, container) {
			out = append(out, ev)
		}
	}
	return out
}

// first returns the first event with the reason and container given.
func (evs events) first(reason, container string) (event, bool) {
	return evs.of(reason, container).firstOK()
}

// firstOK returns the first event, if any.
func (evs events) firstOK() (event, bool) {
	if len(evs) == 0 {
		return event{}, false
	}
	return evs[0], true
}

// where returns the events for which match is true.
func (evs events) where(match func(event) bool) events {
	var out events
	for _, ev := range evs {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// goTool returns the go command: the one on PATH, or the one that built
// this program (sudo often drops the PATH that holds it).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// indent indents every line of s.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "     " + strings.ReplaceAll(s, "\n", "\n     ")
}
