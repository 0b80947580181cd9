package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// target is where the load generator connects for one variant.
type target struct {
	name string
	addr string
	proc *proc // the proxy; nil for the direct connection
}

// sample is one round's measurements of one variant.
type sample struct {
	up, down, rtt result
	// upTicks, downTicks and rttTicks are the proxy's CPU time during each
	// test.
	upTicks, downTicks, rttTicks int64
}

// testLoad is what other processes did on the machine during one test: CPU
// time, measured as the machine's busy time less that of the benchmark's
// processes (the load generator, the upstream server and the proxy under
// test) and of the kernel's ksoftirqd threads, which do part of the
// loopback traffic's network processing. Idle proxies and the benchmark's
// own bookkeeping count as other load; both are small.
type testLoad struct {
	ticks int64
	d     time.Duration
}

// share is the share of the machine's CPUs other processes used.
func (l testLoad) share() float64 {
	return float64(max(l.ticks, 0)) / ticksPerSecond / l.d.Seconds() / float64(machineCPUs)
}

// load sums the testLoad of the tests reported.
type load struct {
	ticks   int64
	seconds float64
	max     float64 // the largest share in one test
}

func (l *load) add(t testLoad) {
	l.ticks += max(t.ticks, 0)
	l.seconds += t.d.Seconds()
	l.max = max(l.max, t.share())
}

// share is the average share of the machine's CPUs other processes used.
func (l *load) share() float64 {
	if l.seconds == 0 {
		return 0
	}
	return float64(l.ticks) / ticksPerSecond / l.seconds / float64(machineCPUs)
}

// allTests are the tests in the order they run within a round, each over
// every variant before the next test.
var allTests = []string{testUpload, testDownload, testRTT}

// run measures cfg.Variants, writes the report to out and progress to log.
// It returns when every process it started has ended and its temporary
// directory is gone; a cancelled ctx stops it early with ctx's cause.
func run(ctx context.Context, cfg config, out, log io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := ensureTools(ctx, cfg, log); err != nil {
		return err
	}
	self := cfg.Self
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return fmt.Errorf("find this program: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "podkit-bench-ambassador-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove temporary directory: %w", rerr))
		}
	}()
	softirqd, err := softirqDaemons()
	if err != nil {
		return fmt.Errorf("find ksoftirqd: %w", err)
	}
	env := &runEnv{cfg: cfg, self: self, podkit: cfg.Podkit, tmp: tmp, load: &load{}, softirqd: softirqd}
	if env.podkit == "" && slices.ContainsFunc(cfg.Variants, func(v string) bool { return variants[v].podkit }) {
		env.podkit = filepath.Join(tmp, "podkit")
		fmt.Fprintln(log, "building podkit ...")
		build := exec.CommandContext(ctx, "go", "build", "-o", env.podkit, "github.com/podkit/podkit/cmd/podkit")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build podkit: %w: %s", err, bytes.TrimSpace(out))
		}
	}

	var procs []*proc
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop(3 * time.Second)
		}
	}()
	server, upstream, err := startServer(ctx, self)
	if err != nil {
		return err
	}
	procs = append(procs, server)
	env.server = server
	var targets []*target
	for _, name := range cfg.Variants {
		v := variants[name]
		if v.start == nil {
			targets = append(targets, &target{name: name, addr: upstream})
			continue
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		listen := "127.0.0.1:" + strconv.Itoa(port)
		p, err := v.start(env, listen, upstream)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		if err := waitListening(ctx, p, listen, 30*time.Second); err != nil {
			return err
		}
		targets = append(targets, &target{name: name, addr: listen, proc: p})
	}

	fmt.Fprintf(log, "%d rounds of %s, tests %s: %d connections × %v per throughput test, %d round trips (after %d) per latency test\n",
		cfg.Rounds, strings.Join(cfg.Variants, ", "), strings.Join(cfg.Tests, ", "), cfg.Conns, cfg.Duration, cfg.Iters, cfg.Warmup)
	samples := make(map[string][]sample, len(targets))
	for r := range cfg.Rounds {
		round := make([]sample, len(targets))
		for _, test := range cfg.Tests {
			// Rotate the order every round, so no variant always follows
			// the same one.
			for k := range targets {
				i := (k + r) % len(targets)
				if err := measureQuietly(ctx, env, targets[i], test, &round[i], log, r+1); err != nil {
					return err
				}
			}
		}
		for i, t := range targets {
			samples[t.name] = append(samples[t.name], round[i])
		}
	}
	return writeReport(out, cfg, samples, env.load)
}

// measureQuietly measures one test of t into s, avoiding other load on the
// machine: it waits up to cfg.QuietWait for the machine to be quiet, and
// repeats a test during which other processes used more than cfg.MaxOthers
// of the machine, up to three tries, keeping the least disturbed.
func measureQuietly(ctx context.Context, env *runEnv, t *target, test string, s *sample, log io.Writer, round int) error {
	const tries = 3
	var (
		best      sample
		bestOther = -1.0
		bestLoad  testLoad
	)
	for try := 1; try <= tries; try++ {
		if err := waitQuiet(ctx, env, log); err != nil {
			return err
		}
		cand := *s
		l, err := measure(ctx, env, t, test, &cand)
		if err != nil {
			return err
		}
		if bestOther < 0 || l.share() < bestOther {
			best, bestOther, bestLoad = cand, l.share(), l
		}
		if bestOther <= env.cfg.MaxOthers {
			break
		}
		if try < tries {
			fmt.Fprintf(log, "round %d %-8s %-18s others used %.0f%% of the machine: again\n", round, test, t.name, 100*l.share())
		}
	}
	*s = best
	env.load.add(bestLoad)
	fmt.Fprintf(log, "round %d %-8s %-18s %s  (others %.0f%%)\n", round, test, t.name, s.describe(test), 100*bestOther)
	return nil
}

// waitQuiet returns once other processes used at most cfg.MaxOthers of the
// machine over the last half second, or after cfg.QuietWait.
func waitQuiet(ctx context.Context, env *runEnv, log io.Writer) error {
	deadline := time.Now().Add(env.cfg.QuietWait)
	waited := false
	for {
		ours := []*proc{env.server}
		before, err := cpuTicksAll(ours)
		if err != nil {
			return err
		}
		busy0, err := machineBusy()
		if err != nil {
			return err
		}
		start := time.Now()
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(500 * time.Millisecond):
		}
		busy1, err := machineBusy()
		if err != nil {
			return err
		}
		after, err := cpuTicksAll(ours)
		if err != nil {
			return err
		}
		l := testLoad{ticks: busy1 - busy0 - (after[0] - before[0]), d: time.Since(start)}
		if l.share() <= env.cfg.MaxOthers {
			return nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(log, "machine still busy after %v (others %.0f%%): measuring anyway\n", env.cfg.QuietWait, 100*l.share())
			return nil
		}
		if !waited {
			fmt.Fprintf(log, "machine busy (others %.0f%%): waiting\n", 100*l.share())
			waited = true
		}
	}
}

// measure runs one test against t with a fresh load-generator process and
// records it in s, with the CPU time the proxy used. It returns the load
// other processes put on the machine meanwhile.
func measure(ctx context.Context, env *runEnv, t *target, test string, s *sample) (testLoad, error) {
	ours := []*proc{env.server}
	if t.proc != nil {
		if err := t.proc.exited(); err != nil {
			return testLoad{}, err
		}
		ours = append(ours, t.proc)
	}
	before, err := cpuTicksAll(ours)
	if err != nil {
		return testLoad{}, err
	}
	softBefore := softirqTicks(env.softirqd)
	busyBefore, err := machineBusy()
	if err != nil {
		return testLoad{}, err
	}
	start := time.Now()

	timeout := env.cfg.Duration + 2*time.Minute
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, env.self, "-test", test, "-addr", t.addr,
		"-conns", strconv.Itoa(env.cfg.Conns), "-duration", env.cfg.Duration.String(),
		"-warmup", strconv.Itoa(env.cfg.Warmup), "-iters", strconv.Itoa(env.cfg.Iters))
	cmd.Env = append(os.Environ(), roleEnv+"="+roleClient)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		return testLoad{}, fmt.Errorf("%s %s: %w", t.name, test, context.Cause(ctx))
	}
	if err != nil {
		if cctx.Err() != nil {
			err = fmt.Errorf("%w after %v", err, timeout)
		}
		return testLoad{}, fmt.Errorf("%s %s: load generator: %w: %s", t.name, test, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return testLoad{}, fmt.Errorf("%s %s: load generator output %q: %w", t.name, test, stdout.String(), err)
	}

	// cpuTicksAll waits for the children of a forking proxy to end; the
	// machine's busy time is read before that wait, which is not part of
	// the test.
	busyAfter, err := machineBusy()
	if err != nil {
		return testLoad{}, err
	}
	elapsed := time.Since(start)
	softAfter := softirqTicks(env.softirqd)
	after, err := cpuTicksAll(ours)
	if err != nil {
		return testLoad{}, err
	}
	clientTicks := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() * ticksPerSecond
	oursTicks := int64(clientTicks) + after[0] - before[0] + softAfter - softBefore
	var proxyTicks int64
	if t.proc != nil {
		proxyTicks = after[1] - before[1]
		oursTicks += proxyTicks
	}

	switch test {
	case testUpload, testDownload:
		if r.Bytes <= 0 || r.Seconds <= 0 {
			return testLoad{}, fmt.Errorf("%s %s: nothing transferred", t.name, test)
		}
		if test == testUpload {
			s.up, s.upTicks = r, proxyTicks
		} else {
			s.down, s.downTicks = r, proxyTicks
		}
	case testRTT:
		s.rtt, s.rttTicks = r, proxyTicks
	}
	return testLoad{ticks: busyAfter - busyBefore - oursTicks, d: elapsed}, nil
}

// cpuTicksAll returns cpuTicks of each of ps.
func cpuTicksAll(ps []*proc) ([]int64, error) {
	ticks := make([]int64, len(ps))
	for i, p := range ps {
		var err error
		if ticks[i], err = cpuTicks(p); err != nil {
			return nil, err
		}
	}
	return ticks, nil
}

// softirqDaemons returns the pids of the kernel's ksoftirqd threads, which
// do part of the loopback traffic's network processing: their time counts
// as the benchmark's, not as other load.
func softirqDaemons() ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.HasPrefix(string(comm), "ksoftirqd/") {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// softirqTicks is the CPU time of the pids so far; pids that vanished count
// nothing.
func softirqTicks(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		if st, err := readStat(pid); err == nil {
			sum += st.cpu
		}
	}
	return sum
}

// machineCPUs is the number of CPUs /proc/stat counts, whatever this
// process's affinity (runtime.NumCPU follows the affinity, so under taskset
// it would count fewer CPUs than machineBusy sums).
var machineCPUs = func() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) > 3 && strings.HasPrefix(line, "cpu") && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return max(n, 1)
}()

// machineBusy returns the time all CPUs spent busy (user, nice, system, irq
// and softirq in /proc/stat), in ticks.
func machineBusy() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		busy += n
	}
	return busy, nil
}

// describe is a progress line for one test of s.
func (s *sample) describe(test string) string {
	switch test {
	case testUpload:
		return fmt.Sprintf("%8.0f MB/s", s.up.mbps())
	case testDownload:
		return fmt.Sprintf("%8.0f MB/s  proxy CPU %.3f s/GB (both directions)", s.down.mbps(), s.cpuPerGB())
	default:
		return fmt.Sprintf("p50 %6.1f µs  p99 %6.1f µs  proxy CPU %.1f µs per round trip",
			micros(s.rtt.P50), micros(s.rtt.P99), s.cpuPerRTT())
	}
}

// mbps is the throughput in MB/s (10^6 bytes).
func (r result) mbps() float64 {
	if r.Seconds == 0 {
		return 0
	}
	return float64(r.Bytes) / r.Seconds / 1e6
}

// cpuPerGB is the proxy's CPU seconds per GB (10^9 bytes) carried in the
// throughput tests measured so far.
func (s *sample) cpuPerGB() float64 {
	bytes := s.up.Bytes + s.down.Bytes
	if bytes == 0 {
		return 0
	}
	return float64(s.upTicks+s.downTicks) / ticksPerSecond / (float64(bytes) / 1e9)
}

// cpuPerRTT is the proxy's CPU time per round trip of the latency test
// (warm-up included), in µs.
func (s *sample) cpuPerRTT() float64 {
	if s.rtt.RoundTrips == 0 {
		return 0
	}
	return float64(s.rttTicks) / ticksPerSecond * 1e6 / float64(s.rtt.RoundTrips)
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// ensureTools makes sure the commands the variants need are installed,
// installing the Debian packages with apt-get if allowed.
func ensureTools(ctx context.Context, cfg config, log io.Writer) error {
	var missing []string
	for _, name := range cfg.Variants {
		if tool := variants[name].tool; tool != "" && !slices.Contains(missing, tool) {
			if _, err := exec.LookPath(tool); err != nil {
				missing = append(missing, tool)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	list := strings.Join(missing, " ")
	if !cfg.Install {
		return fmt.Errorf("not installed: %s (Debian packages %s); run without -install=false as root, or leave those variants out", list, list)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("not installed: %s; installing them with apt-get needs root: run this benchmark as root, or install the Debian packages %s", list, list)
	}
	fmt.Fprintf(log, "installing %s with apt-get ...\n", list)
	for _, args := range [][]string{
		{"update", "-qq"},
		append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...),
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", args[0], err, bytes.TrimSpace(out))
		}
	}
	for _, tool := range missing {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s: still missing after apt-get install: %w", tool, err)
		}
	}
	return nil
}
