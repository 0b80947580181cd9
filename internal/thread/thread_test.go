package thread

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// Keep the main goroutine on the main thread, so TestMain can call Run from
// the main thread.
func init() { runtime.LockOSThread() }

// fromMain is the thread Run used when called from the main thread.
var fromMain, mainTID int

func TestMain(m *testing.M) {
	mainTID = unix.Gettid()
	Run(func() { fromMain = unix.Gettid() })
	goleak.VerifyTestMain(m)
}

func TestRunUsesAFreshThreadThatDies(t *testing.T) {
	var tid int
	Run(func() { tid = unix.Gettid() })
	assert.NotEqual(t, unix.Getpid(), tid, "ran on the main thread")
	// The runtime ends the thread as the goroutine exits, just after Run
	// has returned.
	assert.Eventually(t, func() bool {
		_, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid))
		return os.IsNotExist(err)
	}, 5*time.Second, time.Millisecond, "the thread outlived Run")
}

func TestRunFromTheMainThread(t *testing.T) {
	require.Equal(t, unix.Getpid(), mainTID, "TestMain did not run on the main thread")
	assert.NotZero(t, fromMain)
	assert.NotEqual(t, mainTID, fromMain, "Run tainted the main thread")
}
