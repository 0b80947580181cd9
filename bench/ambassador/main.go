// Command ambassador measures podkit's TCP ambassador on loopback against a
// direct connection, HAProxy and socat, in one run with one load generator:
// throughput in both directions over parallel connections, the round trip of
// one byte (p50 and p99), and the CPU each proxy process spends per gigabyte
// and per round trip.
//
//	go run ./bench/ambassador            # as root; installs haproxy and socat
//	go run ./bench/ambassador -h         # the knobs
//
// The upstream server, the load generator and every proxy run as separate
// processes, so no proxy shares a Go runtime (or its scheduler and garbage
// collector) with the traffic it carries. The server and the load generator
// are this program re-executed with a role in the environment; podkit's
// ambassador is its process form, `podkit ambassador tcp`, built from this
// module into a temporary directory. HAProxy and socat are Debian's
// packages, installed with apt-get when missing.
//
// Every variant is measured once per round; rounds are interleaved, and the
// order of the variants rotates from one round to the next, so that drift on
// a shared machine spreads over all of them. The report gives each
// variant's median and the median of its ratios to the direct connection of
// the same round. Other processes on the machine disturb every number, so
// before each test the benchmark waits for them to use at most -max-others
// of the CPUs, and repeats a test during which they used more; the report
// says how much they used.
//
// Besides the four variants (direct, podkit, haproxy, socat), a few
// help explain the results (-variants all): podkit with GOMAXPROCS=1,
// HAProxy with one thread, podkit's proxy engine made to copy in user space
// instead of splicing (through its Dial hook, unchanged), and a bare Go
// proxy of two io.Copy, spliced or not.
//
// The program prints a Markdown table on stdout and its progress on stderr.
// It exits non-zero only on errors: the targets (at least HAProxy's
// throughput, no worse latency) are reported, not asserted. It stops every
// process it started, on Ctrl-C too, and removes its temporary directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is one benchmark run. The zero value is not useful: defaultConfig
// gives the values the recorded results were measured with.
type config struct {
	// Variants are the ways to reach the upstream, in the order they are
	// reported; see variantNames.
	Variants []string
	// Tests are the tests of a round, a subset of allTests in its order.
	Tests []string
	// Rounds is how many times every variant is measured.
	Rounds int
	// Conns is the number of parallel connections of a throughput test.
	Conns int
	// Duration is how long each throughput test streams.
	Duration time.Duration
	// Warmup and Iters are the round trips of a latency test: Warmup first,
	// not recorded, then Iters recorded.
	Warmup, Iters int
	// MaxOthers is the share of the machine's CPUs that other processes may
	// use during a test: the benchmark waits up to QuietWait for the machine
	// to be that quiet before each test, and repeats a test (up to three
	// tries) during which other processes used more. 1 turns this off.
	MaxOthers float64
	QuietWait time.Duration
	// HAProxyThreads is HAProxy's nbthread.
	HAProxyThreads int
	// Install installs missing Debian packages (haproxy, socat) with apt-get.
	Install bool
	// Podkit is a podkit command to run; empty means build one from this
	// module.
	Podkit string
	// Self is the executable re-executed for the server, load-generator and
	// Go-proxy roles; empty means os.Executable. It must dispatch roles with
	// runRole when roleEnv is set (main and TestMain do).
	Self string
}

func defaultConfig() config {
	return config{
		Variants:       []string{"direct", "podkit", "haproxy", "socat"},
		Tests:          allTests,
		Rounds:         5,
		Conns:          4,
		Duration:       5 * time.Second,
		Warmup:         2000,
		Iters:          20000,
		MaxOthers:      0.10,
		QuietWait:      2 * time.Minute,
		HAProxyThreads: 2,
		Install:        true,
	}
}

func main() {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ambassador bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ambassador bench:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config.
func parseFlags(args []string, usage io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("ambassador", flag.ContinueOnError)
	fs.SetOutput(usage)
	variants := fs.String("variants", strings.Join(cfg.Variants, ","),
		"comma-separated variants: "+strings.Join(variantNames(), ", ")+"; or all")
	tests := fs.String("tests", strings.Join(cfg.Tests, ","), "comma-separated tests: "+strings.Join(allTests, ", "))
	fs.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "measurements of every variant, interleaved")
	fs.IntVar(&cfg.Conns, "conns", cfg.Conns, "parallel connections of a throughput test")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of a throughput test")
	fs.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "unrecorded round trips before a latency test")
	fs.IntVar(&cfg.Iters, "iters", cfg.Iters, "recorded 1-byte round trips of a latency test")
	fs.Float64Var(&cfg.MaxOthers, "max-others", cfg.MaxOthers,
		"share of the CPUs other processes may use during a test; busier tests wait and are repeated (1: off)")
	fs.DurationVar(&cfg.QuietWait, "quiet-wait", cfg.QuietWait, "longest wait for a quiet machine before a test")
	fs.IntVar(&cfg.HAProxyThreads, "haproxy-threads", cfg.HAProxyThreads, "HAProxy's nbthread")
	fs.BoolVar(&cfg.Install, "install", cfg.Install, "install missing haproxy and socat with apt-get (root)")
	fs.StringVar(&cfg.Podkit, "podkit", "", "podkit command to benchmark (default: build ./cmd/podkit)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *variants == "all" {
		cfg.Variants = variantNames()
	} else {
		cfg.Variants = strings.Split(*variants, ",")
	}
	cfg.Tests = nil
	for _, t := range allTests { // in their order, whatever the flag's
		if slices.Contains(strings.Split(*tests, ","), t) {
			cfg.Tests = append(cfg.Tests, t)
		}
	}
	for _, t := range strings.Split(*tests, ",") {
		if !slices.Contains(allTests, t) {
			return config{}, fmt.Errorf("tests: unknown %q (known: %s)", t, strings.Join(allTests, ", "))
		}
	}
	return cfg, cfg.validate()
}

// validate names the first bad field of c.
func (c config) validate() error {
	if len(c.Variants) == 0 {
		return errors.New("variants: none")
	}
	seen := map[string]bool{}
	for _, v := range c.Variants {
		if _, ok := variants[v]; !ok {
			return fmt.Errorf("variants: unknown %q (known: %s)", v, strings.Join(variantNames(), ", "))
		}
		if seen[v] {
			return fmt.Errorf("variants: %q twice", v)
		}
		seen[v] = true
	}
	if len(c.Tests) == 0 {
		return errors.New("tests: none")
	}
	for _, t := range c.Tests {
		if !slices.Contains(allTests, t) {
			return fmt.Errorf("tests: unknown %q", t)
		}
	}
	switch {
	case c.Rounds < 1:
		return fmt.Errorf("rounds: %d, want at least 1", c.Rounds)
	case c.Conns < 1:
		return fmt.Errorf("conns: %d, want at least 1", c.Conns)
	case c.Duration <= 0:
		return fmt.Errorf("duration: %v, want more than 0", c.Duration)
	case c.Iters < 1 || c.Warmup < 0:
		return fmt.Errorf("iters, warmup: %d, %d: want at least 1 and 0", c.Iters, c.Warmup)
	case c.MaxOthers < 0 || c.QuietWait < 0:
		return fmt.Errorf("max-others, quiet-wait: %v, %v: want at least 0", c.MaxOthers, c.QuietWait)
	case c.HAProxyThreads < 1:
		return fmt.Errorf("haproxy-threads: %d, want at least 1", c.HAProxyThreads)
	}
	return nil
}
