package pod_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// benchContainer is the command every container of the start benchmark runs,
// for podkit and the shell baseline alike: it says "up" once it runs.
var benchContainer = []string{"sh", "-c", "echo up; exec sleep 1000"}

// BenchmarkPodStart measures the time from Start until the infra and three
// containers run (each container has printed "up"), for
//   - shared: podkit with a shared PID namespace;
//   - own: podkit with a PID namespace per container (the default);
//   - isolated: own, plus for each container resource limits, an emptyDir
//     volume, a busybox root filesystem and a security context;
//   - shell: a shell script doing the shared-PID job with unshare and
//     nsenter.
//
// All are interleaved in one run; ratios are p50 over p50. Every podkit pod
// has cgroups (a pod's and one per container).
func BenchmarkPodStart(b *testing.B) {
	requireRoot(b)
	requireTool(b, "unshare")
	requireTool(b, "nsenter")
	requireTool(b, "ip")
	root := busyboxRootfs(b)
	// The shell baseline with cgroups places its processes the way podkit
	// does on cgroup v1, which this comparison needs.
	v1 := cgroups.Mode() != cgroups.Unified
	var shared, own, isolated, shell, shellCgroups []time.Duration
	for i := 0; i < b.N; i++ {
		shared = append(shared, startPodkit(b, true, ""))
		own = append(own, startPodkit(b, false, ""))
		isolated = append(isolated, startPodkit(b, false, root))
		shell = append(shell, startShell(b, false))
		if v1 {
			shellCgroups = append(shellCgroups, startShell(b, true))
		}
	}
	report := func(name string, ds []time.Duration) time.Duration {
		p50, p99 := percentile(ds, 50), percentile(ds, 99)
		b.ReportMetric(float64(p50.Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, name+"-p99-ms")
		return p50
	}
	base := report("shell", shell)
	b.ReportMetric(float64(report("shared", shared))/float64(base), "shared/shell")
	ownP50 := report("own", own)
	b.ReportMetric(float64(ownP50)/float64(base), "own/shell")
	isolatedP50 := report("isolated", isolated)
	b.ReportMetric(float64(isolatedP50)/float64(base), "isolated/shell")
	b.ReportMetric(float64(isolatedP50)/float64(ownP50), "isolated/own")
	if v1 {
		cgBase := report("shell-cgroups", shellCgroups)
		b.ReportMetric(float64(ownP50)/float64(cgBase), "own/shell-cgroups")
	}
	b.ReportMetric(0, "ns/op") // the metrics above are the result
}

// startPodkit starts a pod, returns the time until its containers all run,
// and stops it. With a rootfs, each container is fully isolated.
func startPodkit(b *testing.B, sharedPID bool, rootfs string) time.Duration {
	up := newLineCounter("up")
	var cs []pod.Container
	no := false
	for _, n := range []string{"a", "b", "c"} {
		c := pod.Container{Name: n, Command: benchContainer, Stdout: up}
		if rootfs != "" {
			c.RootFS = rootfs
			c.Resources = pod.Resources{CPULimit: 500, MemoryLimit: 64 << 20, PidsLimit: 100}
			c.VolumeMounts = []pod.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
			c.SecurityContext = &pod.SecurityContext{AllowPrivilegeEscalation: &no,
				Capabilities: &pod.Capabilities{Drop: []string{"ALL"}}}
		}
		cs = append(cs, c)
	}
	p, err := pod.New("bench", pod.Spec{
		ShareProcessNamespace: sharedPID,
		Containers:            cs,
		Volumes:               []pod.Volume{{Name: "scratch", EmptyDir: &pod.EmptyDirVolume{}}},
	}, pod.WithStateDir(b.TempDir()))
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	require.NoError(b, p.Start(ctx))
	up.wait(3)
	elapsed := time.Since(start)
	cancel()
	_ = p.Wait()
	return elapsed
}

// startShell does the job of startPodkit with a shell script: an infra made
// with unshare that sets the hostname and brings up loopback, and three
// containers joining its namespaces with nsenter. With cgroups, it also
// makes a cgroup v1 group for the pod and one for each process in it, in the
// hierarchies podkit uses, and each process moves itself into its group
// before it executes unshare or nsenter.
func startShell(b *testing.B, withCgroups bool) time.Duration {
	dir := b.TempDir()
	group := ""
	if withCgroups {
		group = "podkit-bench-shell-" + filepath.Base(dir)
	}
	// place NAME runs the rest of its line in cgroup NAME of the pod.
	place := func(name string) string { return "" }
	if withCgroups {
		helper := filepath.Join(dir, "place")
		require.NoError(b, os.WriteFile(helper, []byte(`for c in memory cpu cpuacct pids freezer; do
	mkdir -p /sys/fs/cgroup/$c/$G/$1
	echo $$ > /sys/fs/cgroup/$c/$G/$1/cgroup.procs
done
shift
exec "$@"
`), 0o755))
		place = func(name string) string { return "sh " + helper + " " + name + " " }
	}
	script := `
set -e
mkfifo "$D/ready"
` + place("infra") + `unshare --net --uts --ipc --pid --fork --kill-child sh -c 'hostname bench; ip link set lo up; echo ok > "$D/ready"; exec sleep 1000' &
read ok < "$D/ready"
infra=$(cat /proc/$!/task/$!/children | tr -d ' ')
for c in a b c; do
	` + place("$c") + `nsenter -t "$infra" -n -u -i -p sh -c "$C" &
done
wait`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "D="+dir, "G="+group, "C="+benchContainer[2])
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	require.NoError(b, err)
	cmd.Stderr = os.Stderr
	start := time.Now()
	require.NoError(b, cmd.Start())
	sc := bufio.NewScanner(out)
	for n := 0; n < 3; {
		require.True(b, sc.Scan(), "the shell baseline ended early")
		if sc.Text() == "up" {
			n++
		}
	}
	elapsed := time.Since(start)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_, _ = io.Copy(io.Discard, out)
	_ = cmd.Wait()
	_ = os.Remove(filepath.Join(dir, "ready"))
	if group != "" {
		for _, c := range []string{"memory", "cpu", "cpuacct", "pids", "freezer"} {
			base := filepath.Join("/sys/fs/cgroup", c, group)
			for _, sub := range []string{"infra", "a", "b", "c"} {
				removeCgroupDir(b, filepath.Join(base, sub))
			}
			removeCgroupDir(b, base)
		}
	}
	return elapsed
}

// removeCgroupDir removes an empty cgroup, waiting for its killed processes
// to leave it.
func removeCgroupDir(b *testing.B, dir string) {
	for i := 0; ; i++ {
		err := syscall.Rmdir(dir)
		if err == nil || err == syscall.ENOENT {
			return
		}
		require.Less(b, i, 1000, "cannot remove %s: %v", dir, err)
		time.Sleep(time.Millisecond)
	}
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// lineCounter is an io.Writer that counts lines equal to want.
type lineCounter struct {
	want string
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func newLineCounter(want string) *lineCounter {
	c := &lineCounter{want: want}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.TrimSuffix(string(p), "\n") == c.want {
		c.n++
		c.cond.Broadcast()
	}
	return len(p), nil
}

func (c *lineCounter) wait(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n < n {
		c.cond.Wait()
	}
}

// BenchmarkPodMemory reports what the supervising program holds per running
// pod of three containers: Go heap and resident memory, averaged over 20 pods
// running at once. The infra and init helpers are separate processes and are
// not counted; their proportional set size (shared pages divided among the
// processes sharing them) is reported apart.
func BenchmarkPodMemory(b *testing.B) {
	requireRoot(b)
	const pods = 20
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rssBefore := memKiB(b, os.Getpid(), "Rss:")
		var running []*pod.Pod
		ctx, cancel := context.WithCancel(context.Background())
		for j := range pods {
			up := newLineCounter("up")
			var cs []pod.Container
			for _, n := range []string{"a", "b", "c"} {
				cs = append(cs, pod.Container{Name: n, Command: benchContainer, Stdout: up})
			}
			p, err := pod.New(fmt.Sprintf("mem-%d", j), pod.Spec{
				Containers: cs,
			})
			require.NoError(b, err)
			require.NoError(b, p.Start(ctx))
			up.wait(3)
			running = append(running, p)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		rssAfter := memKiB(b, os.Getpid(), "Rss:")
		st := running[0].Status()
		helpers := memKiB(b, st.InfraPID, "Pss:")
		for _, c := range st.Containers {
			helpers += memKiB(b, c.PID, "Pss:")
		}
		cancel()
		for _, p := range running {
			_ = p.Wait()
		}
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/pods/1024, "heap-KiB/pod")
		b.ReportMetric(float64(rssAfter-rssBefore)/pods, "supervisor-RSS-KiB/pod")
		b.ReportMetric(float64(helpers), "helpers-PSS-KiB/pod")
	}
}

// memKiB reads a field, in KiB, of a process's /proc/PID/smaps_rollup.
func memKiB(b *testing.B, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	require.NoError(b, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			var kib int64
			_, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib)
			require.NoError(b, err)
			return kib
		}
	}
	b.Fatalf("no %s in smaps_rollup of %d", field, pid)
	return 0
}
