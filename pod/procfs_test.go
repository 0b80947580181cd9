package pod_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// namespaceOf returns the identity of a process's namespace of a kind.
func namespaceOf(t testing.TB, pid int, kind string) string {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	require.NoError(t, err)
	return ns
}

// processesIn lists the PIDs of live processes in the namespace ns.
func processesIn(t testing.TB, kind, ns string) []int {
	t.Helper()
	var pids []int
	for _, pid := range allPIDs(t) {
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); err == nil && got == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// findProcess returns the PID of a process whose command line is cmdline.
func findProcess(t testing.TB, cmdline string) int {
	t.Helper()
	for _, pid := range allPIDs(t) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ") == cmdline {
			return pid
		}
	}
	return 0
}

func procState(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return string(b)
}

func allPIDs(t testing.TB) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, d := range dirs {
		if pid, err := strconv.Atoi(d.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// resources returns this process's goroutines, open files and threads,
// once the runtime has had a moment to retire finished goroutines.
func resources(t testing.TB) (goroutines, fds, threads int) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return runtime.NumGoroutine(), len(entries), threads
}

func execCommand(argv, env []string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

var _ = filepath.Join
