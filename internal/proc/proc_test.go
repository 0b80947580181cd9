package proc

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartWaitSignal(t *testing.T) {
	p, err := Start(exec.Command("sleep", "1000"), Hooks{})
	require.NoError(t, err)
	assert.NotZero(t, p.Pid())
	assert.GreaterOrEqual(t, p.PidFD(), 0)
	require.NoError(t, p.Signal(syscall.SIGTERM))
	<-p.Done()
	ws := p.State().Sys().(syscall.WaitStatus)
	assert.Equal(t, syscall.SIGTERM, ws.Signal())
	assert.Error(t, p.Err())
	assert.NoError(t, p.Signal(syscall.SIGTERM), "signalling an exited process is not an error")
	p.Release()
	assert.Equal(t, -1, p.PidFD())
}

func TestStartErrors(t *testing.T) {
	_, err := Start(exec.Command("/no/such/binary"), Hooks{})
	assert.Error(t, err)
	boom := errors.New("boom")
	_, err = Start(exec.Command("true"), Hooks{Before: func() error { return boom }})
	assert.ErrorIs(t, err, boom)
}

func TestJoinBadFD(t *testing.T) {
	err := Join(-1, syscall.CLONE_NEWNET)()
	assert.ErrorContains(t, err, "proc: setns")
}
