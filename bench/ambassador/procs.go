package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a process the benchmark started and must stop: a proxy or the
// upstream server. Each runs in a process group of its own, so that stop
// reaches the children a proxy forks (socat forks one per connection) and
// a Ctrl-C at the terminal reaches only the benchmark, which stops them in
// order. Pdeathsig kills it if the benchmark dies without stopping it.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer   // stdout and stderr, last few KiB
	done chan struct{} // closed when the process has been waited for
	err  error         // Wait's result, once done is closed
}

// startProc starts cmd as name. cmd.Stdout may be set already; whatever is
// not set goes to the proc's tail buffer.
func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, out: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	cmd.Stderr = p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Children of a forking proxy may hold the output pipe after it exits.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid is the process's id, also its process group's.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited returns an error if the process has ended, with its last output.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v): %s", p.name, p.err, p.out.String())
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group, then SIGKILL if the process has
// not ended within grace, and returns once it has been waited for. Any
// process left in the group is killed too.
func (p *proc) stop(grace time.Duration) {
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	<-p.done
}

// waitListening dials addr until it accepts, for at most timeout; it fails
// early if p exits. The connection is closed at once, which the upstream
// server takes for a readiness check.
func waitListening(ctx context.Context, p *proc, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not listening on %s after %v: %w", p.name, addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startServer starts the upstream server role and returns its address.
func startServer(ctx context.Context, self string) (*proc, string, error) {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"="+roleServer)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", fmt.Errorf("upstream server: %w", err)
	}
	p, err := startProc("upstream server", cmd)
	if err != nil {
		return nil, "", err
	}
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-port:
		if _, err := strconv.Atoi(s); err != nil {
			p.stop(time.Second)
			return nil, "", fmt.Errorf("upstream server: no port (%q): %s", s, p.out.String())
		}
		return p, "127.0.0.1:" + s, nil
	case <-ctx.Done():
		p.stop(time.Second)
		return nil, "", context.Cause(ctx)
	case <-time.After(30 * time.Second):
		p.stop(time.Second)
		return nil, "", fmt.Errorf("upstream server: no port after 30s: %s", p.out.String())
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ticksPerSecond is USER_HZ, the unit of the times in /proc/PID/stat: 100 on
// every Linux architecture Go supports.
const ticksPerSecond = 100

// procStat is the part of /proc/PID/stat the benchmark uses.
type procStat struct {
	ppid int
	// cpu is user plus system time of the process (all its threads) and of
	// its children that have been waited for, in ticks.
	cpu int64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. From there, fields[0] is the state (field 3 of proc(5)).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q: no ')'", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q: too few fields", pid, s)
	}
	var st procStat
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	for _, k := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
		n, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: field %d: %w", pid, k+3, err)
		}
		st.cpu += n
	}
	return st, nil
}

// hasChildren reports whether any process has pid as its parent.
func hasChildren(pid int) (bool, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(n)
		if err != nil {
			continue // gone meanwhile
		}
		if st.ppid == pid {
			return true, nil
		}
	}
	return false, nil
}

// cpuTicks returns the CPU time p and its children used so far, once the
// children it forked for earlier connections (socat) have ended and been
// reaped, so that their time is in the parent's cutime and cstime and is
// counted once.
func cpuTicks(p *proc) (int64, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		busy, err := hasChildren(p.pid())
		if err != nil {
			return 0, fmt.Errorf("%s: children: %w", p.name, err)
		}
		if !busy {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: children still running 5s after the test", p.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := readStat(p.pid())
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p.name, err)
	}
	return st.cpu, nil
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
