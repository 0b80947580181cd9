package owner

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNameAndAlive(t *testing.T) {
	n, err := Name("web")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(n, "web_"+strconv.Itoa(os.Getpid())+"_"))
	assert.True(t, Alive(n))
	other, err := Name("web")
	require.NoError(t, err)
	assert.NotEqual(t, n, other)

	start, err := startTime(os.Getpid())
	require.NoError(t, err)
	assert.False(t, Alive("p_"+strconv.Itoa(os.Getpid())+"_"+strconv.FormatUint(start+1, 10)+"_ab"), "same PID, other start time")
	assert.False(t, Alive("p_999999999_1_ab"), "no such process")
	assert.True(t, Alive("not-ours"), "foreign names are left alone")
}

// A 253-byte pod name (the longest Kubernetes takes) still makes a file
// name: cut, with a digest that keeps two long names apart, and Alive
// reads it.
func TestLongName(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	n, err := Name(long)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(n), 255)
	assert.True(t, strings.HasPrefix(n, long[:150]))
	assert.True(t, Alive(n))
	other, err := Name(long[:252] + "e")
	require.NoError(t, err)
	cut := func(s string) string { return s[:strings.IndexByte(s, '_')] }
	assert.NotEqual(t, cut(n), cut(other), "two long names share a prefix")
	require.NoError(t, os.Mkdir(t.TempDir()+"/"+n, 0o700), "not a file name")
}

// TestZombieIsDead keeps a real zombie: a child that has exited and that
// the test does not reap until the end.
func TestZombieIsDead(t *testing.T) {
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{})
	require.NoError(t, err)
	defer func() {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
	}()
	start, err := startTime(pid)
	require.NoError(t, err)
	name := "p_" + strconv.Itoa(pid) + "_" + strconv.FormatUint(start, 10) + "_ab"
	require.Eventually(t, func() bool {
		st, err := readStat(pid)
		return err == nil && st.state == 'Z'
	}, 5*time.Second, 5*time.Millisecond, "the child becomes a zombie")
	assert.False(t, Alive(name), "a zombie owner is dead")
}
