package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
)

// variant is a way for the load generator to reach the upstream server.
type variant struct {
	// describe is the variant's row label in the report.
	describe string
	// tool is the command the variant needs, if any; its Debian package has
	// the same name.
	tool string
	// podkit means the variant runs the podkit command.
	podkit bool
	// start starts the proxy listening on listen and forwarding to
	// upstream; nil means the variant is the direct connection.
	start func(env *runEnv, listen, upstream string) (*proc, error)
}

// runEnv is what starting a variant may need.
type runEnv struct {
	cfg    config
	self   string // this program, for the Go roles
	podkit string // the podkit command
	tmp    string // the run's temporary directory
	server *proc  // the upstream server
	load   *load  // the machine's other load, measured during the tests
	// softirqd are the pids of the kernel's ksoftirqd threads.
	softirqd []int
}

// variants are the known variants. The first four are the issue's; the
// others help explain the results.
var variants = map[string]variant{
	"direct": {describe: "direct"},
	"podkit": {
		describe: "podkit ambassador (`podkit ambassador tcp`: event loops, splice)",
		podkit:   true,
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			return startPodkit(env, "podkit", 0, listen, upstream)
		},
	},
	"haproxy": {
		describe: "HAProxy (mode tcp, splice)",
		tool:     "haproxy",
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			return startHAProxy(env, "haproxy", env.cfg.HAProxyThreads, listen, upstream)
		},
	},
	"socat": {
		describe: "socat (fork per connection)",
		tool:     "socat",
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			_, port, err := net.SplitHostPort(listen)
			if err != nil {
				return nil, fmt.Errorf("socat: %w", err)
			}
			return startProc("socat", exec.Command("socat",
				"TCP-LISTEN:"+port+",bind=127.0.0.1,reuseaddr,fork", "TCP:"+upstream))
		},
	},
	"podkit-userspace": {
		describe: "podkit's engine, user-space copy (goroutine per direction, 32 KiB buffer)",
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			return startRole(env, "podkit-userspace", roleEngine, "-listen", listen, "-upstream", upstream)
		},
	},
	"go-splice": {
		describe: "bare Go proxy, io.Copy (splice)",
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			return startRole(env, "go-splice", roleGoCopy, "-listen", listen, "-upstream", upstream, "-copy", "splice")
		},
	},
	"podkit-gomaxprocs1": {
		describe: "podkit ambassador, GOMAXPROCS=1",
		podkit:   true,
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			return startPodkit(env, "podkit-gomaxprocs1", 1, listen, upstream)
		},
	},
	"haproxy-nbthread1": {
		describe: "HAProxy, nbthread 1",
		tool:     "haproxy",
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			return startHAProxy(env, "haproxy-nbthread1", 1, listen, upstream)
		},
	},
	"go-userspace": {
		describe: "bare Go proxy, io.Copy (user space, 32 KiB)",
		start: func(env *runEnv, listen, upstream string) (*proc, error) {
			return startRole(env, "go-userspace", roleGoCopy, "-listen", listen, "-upstream", upstream, "-copy", "userspace")
		},
	},
}

// variantOrder is the order of variantNames.
var variantOrder = []string{
	"direct", "podkit", "haproxy", "socat",
	"podkit-gomaxprocs1", "haproxy-nbthread1", "podkit-userspace", "go-splice", "go-userspace",
}

// variantNames lists the known variants in their report order.
func variantNames() []string { return slices.Clone(variantOrder) }

// startPodkit starts podkit's ambassador as a process; gomaxprocs > 0 sets
// GOMAXPROCS in its environment.
func startPodkit(env *runEnv, name string, gomaxprocs int, listen, upstream string) (*proc, error) {
	cmd := exec.Command(env.podkit, "ambassador", "tcp", "--listen", listen, "--upstream", upstream)
	if gomaxprocs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	}
	return startProc(name, cmd)
}

// startHAProxy writes a configuration for HAProxy with threads threads and
// runs it in the foreground.
func startHAProxy(env *runEnv, name string, threads int, listen, upstream string) (*proc, error) {
	cfgFile := filepath.Join(env.tmp, name+".cfg")
	cfg := haproxyConfig(threads, listen, upstream)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return startProc(name, exec.Command("haproxy", "-f", cfgFile, "-db"))
}

// startRole starts this program in a Go-proxy role.
func startRole(env *runEnv, name, role string, args ...string) (*proc, error) {
	cmd := exec.Command(env.self, args...)
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	return startProc(name, cmd)
}

// haproxyConfig is a minimal TCP proxy with kernel splicing both ways.
// nbthread is set explicitly (HAProxy's default is one thread per CPU) so
// that the report says what ran.
func haproxyConfig(threads int, listen, upstream string) string {
	return `global
	maxconn 1024
	nbthread ` + strconv.Itoa(threads) + `

defaults
	mode tcp
	timeout connect 5s
	timeout client 5m
	timeout server 5m
	option splice-request
	option splice-response

frontend bench
	bind ` + listen + `
	default_backend upstream

backend upstream
	server upstream ` + upstream + `
`
}
