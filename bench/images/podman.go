package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// podman runs podman with its own storage and configuration, leaving the
// host's untouched: runc (crun refuses hybrid cgroup hosts), cgroupfs, no
// events, the overlay storage driver, and ulimits within the host's (runc
// fails to set an nproc limit as high as this host's, 96367, so at most
// 4096).
type podman struct {
	conf    string
	root    string // --root, the image and container storage
	runroot string // --runroot, in /run as podman's default is

	mu       *sync.Mutex
	runroots *[]string // every runroot made, removed by close
}

func newPodman(dir string) (*podman, error) {
	if _, err := exec.LookPath("podman"); err != nil {
		return nil, fmt.Errorf("podman: %w (or run with -podman=false)", err)
	}
	runtime := "runc"
	if _, err := exec.LookPath("runc"); err != nil {
		runtime = "crun"
	}
	var nofile, nproc unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		return nil, err
	}
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &nproc); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "containers.conf")
	text := fmt.Sprintf("[containers]\ndefault_ulimits = [\"nofile=%d:%d\", \"nproc=%d:%d\"]\n[engine]\nruntime = %q\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"none\"\n",
		nofile.Cur, nofile.Cur, min(nproc.Cur, 4096), min(nproc.Cur, 4096), runtime)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return &podman{conf: conf, mu: new(sync.Mutex), runroots: new([]string)}, nil
}

// at returns podman with its storage in root, and a runroot of its own.
func (p *podman) at(root string) *podman {
	q := *p
	q.root = root
	run, err := os.MkdirTemp("/run", "podkit-bench-podman-")
	if err != nil {
		run = root + ".run"
	}
	q.runroot = run
	p.mu.Lock()
	*p.runroots = append(*p.runroots, run)
	p.mu.Unlock()
	return &q
}

// cmd is the podman command with args.
func (p *podman) cmd(ctx context.Context, args ...string) *exec.Cmd {
	all := append([]string{"--root", p.root, "--runroot", p.runroot, "--storage-driver", "overlay",
		"--cgroup-manager", "cgroupfs", "--events-backend", "none"}, args...)
	cmd := exec.CommandContext(ctx, "podman", all...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	return cmd
}

// close removes every runroot, unmounting what podman left there.
func (p *podman) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range *p.runroots {
		unmountUnder(r)
		_ = os.RemoveAll(r)
	}
	*p.runroots = nil
}

// unmountUnder detaches every mount at or below dir, deepest first:
// podman's overlay driver leaves its storage directory mounted.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, mp := range points {
		_ = unix.Unmount(mp, unix.MNT_DETACH)
	}
}

// unescapeMount decodes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
