package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/cgroups/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/owner"
	"github.com/podkit/podkit/internal/proc"
	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var requireRoot = testenv.RequireRoot

// startIn starts sleep inside g and returns it.
func startIn(t *testing.T, g Group) *proc.Process {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	enter, leave, done, err := g.Attach(cmd.SysProcAttr)
	require.NoError(t, err)
	defer done()
	p, err := proc.Start(cmd, proc.Hooks{Before: enter, After: leave})
	require.NoError(t, err)
	return p
}

// cgroupOf returns the cgroup path of pid in the hierarchy whose
// /proc/PID/cgroup line contains key ("memory", or "" for cgroup v2).
func cgroupOf(t *testing.T, pid int, key string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if key == "" && parts[0] == "0" || key != "" && strings.Contains(","+parts[1]+",", ","+key+",") {
			return parts[2]
		}
	}
	return ""
}

func TestLifecycle(t *testing.T) {
	requireRoot(t)
	versions := []int{2}
	if cgroups.Mode() != cgroups.Unified {
		versions = []int{1, 2}
	}
	for _, v := range versions {
		t.Run("v"+strconv.Itoa(v), func(t *testing.T) {
			cfg := Config{Parent: "podkit-test", Version: v}
			key := "memory"
			limits := Limits{Memory: 64 << 20, Pids: 50, CPUQuota: 50_000_000, CPUPeriod: 100_000_000, CPUShares: 512}
			if v == 2 {
				key = ""
				if cgroups.Mode() == cgroups.Hybrid {
					// The unified mount of a hybrid host has no
					// controllers: placement and kill only.
					cfg.V2Mount = "/sys/fs/cgroup/unified"
					limits = Limits{}
				}
			}
			name, err := owner.Name("lifecycle")
			require.NoError(t, err)
			pod, err := NewPod(cfg, name, limits)
			require.NoError(t, err)
			child, err := pod.Child("c", limits)
			require.NoError(t, err)

			p := startIn(t, child)
			assert.Equal(t, child.Path(), cgroupOf(t, p.Pid(), key), "the child started outside its cgroup")
			assert.NotEqual(t, child.Path(), cgroupOf(t, os.Getpid(), key), "this program stayed in the cgroup")

			st, err := pod.Stats()
			require.NoError(t, err)
			if limits.Pids > 0 {
				assert.Equal(t, uint64(1), st.Pids)
				assert.NotZero(t, st.MemoryUsage)
			}

			require.NoError(t, pod.Kill())
			<-p.Done()
			ws := p.State().Sys().(syscall.WaitStatus)
			assert.Equal(t, syscall.SIGKILL, ws.Signal())
			p.Release()

			require.NoError(t, child.Delete())
			require.NoError(t, pod.Delete())
			mount := "/sys/fs/cgroup/memory"
			if v == 2 {
				mount = cfg.V2Mount
				if mount == "" {
					mount = "/sys/fs/cgroup"
				}
			}
			_, err = os.Stat(filepath.Join(mount, pod.Path()))
			assert.True(t, os.IsNotExist(err), "the pod's cgroup is still there: %v", err)
		})
	}
}

func TestCleanupStale(t *testing.T) {
	requireRoot(t)
	cfg := Config{Parent: "podkit-test-stale"}
	// A group named for a supervisor that is not running (PID 1 with a
	// start time it does not have), one for this program, and a foreign one.
	dead, err := (&cfgGroup{cfg}).create("dead_1_99999999_00000000")
	require.NoError(t, err)
	name, err := owner.Name("alive")
	require.NoError(t, err)
	alive, err := NewPod(cfg, name, Limits{})
	require.NoError(t, err)
	_, err = dead.Child("c", Limits{})
	require.NoError(t, err)

	removed, err := CleanupStale(cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{dead.Path()}, removed)
	require.NoError(t, alive.Delete())
	removed, err = CleanupStale(cfg)
	require.NoError(t, err)
	assert.Empty(t, removed)
}

func TestConfigErrors(t *testing.T) {
	_, err := NewPod(Config{Parent: "../escape"}, "p", Limits{})
	assert.ErrorContains(t, err, "must not contain '..'")
	_, err = NewPod(Config{Version: 3}, "p", Limits{})
	assert.ErrorContains(t, err, "version 3")
}

// cfgGroup creates groups with a given name, for tests.
type cfgGroup struct{ cfg Config }

func (c *cfgGroup) create(name string) (Group, error) {
	cfg, err := c.cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Version == 2 {
		return newV2(cfg, name, Limits{})
	}
	return newV1(cfg, name, Limits{})
}

func TestNested(t *testing.T) {
	requireRoot(t)
	cfg := Config{Parent: "podkit-test-nested", Nested: true}
	name, err := owner.Name("nested")
	require.NoError(t, err)
	g, err := NewPod(cfg, name, Limits{})
	require.NoError(t, err)
	defer func() { require.NoError(t, g.Delete()) }()
	key := "memory"
	if cgroups.Mode() == cgroups.Unified {
		key = ""
	}
	own := cgroupOf(t, os.Getpid(), key)
	assert.Equal(t, filepath.Join(own, "podkit-test-nested", name), g.Path())
}
