package shim

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestReadReports(t *testing.T) {
	rs, err := ReadReports([]byte(`{"ready":true}` + "\n" + `{"exited":true,"exitCode":143,"signal":15}` + "\n"))
	require.NoError(t, err)
	assert.Equal(t, []Report{{Ready: true}, {Exited: true, ExitCode: 143, Signal: 15}}, rs)
	rs, err = ReadReports(nil)
	require.NoError(t, err)
	assert.Empty(t, rs)
	_, err = ReadReports([]byte("garbage\n"))
	assert.ErrorContains(t, err, "shim: malformed report")
}

func TestCommands(t *testing.T) {
	infra := InfraCommand("host", false)
	assert.Equal(t, "/proc/self/exe", infra.Path)
	assert.Equal(t, []string{InfraArg0, "host"}, infra.Args)
	assert.Contains(t, infra.Env, EnvMarker+"="+InfraArg0)
	assert.Equal(t, []string{InfraArg0, "host", "--host-network"}, InfraCommand("host", true).Args)

	init := InitCommand("/bin/echo", []string{"echo", "hi"}, []string{"A=1"})
	assert.Equal(t, []string{InitArg0, "/bin/echo", "--", "echo", "hi"}, init.Args)
	assert.Equal(t, "A=1", init.Env[0])
}

// TestInitRunsCommand runs the init helper as a child (without a new PID
// namespace) and checks its reports and the command's output.
func TestInitRunsCommand(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	cmd := InitCommand("/bin/sh", []string{"sh", "-c", "echo $A; exit 7"}, []string{"A=from-env"})
	cmd.ExtraFiles = []*os.File{w}
	var out strings.Builder
	cmd.Stdout = &out
	err = cmd.Run()
	w.Close()
	require.Error(t, err)
	assert.Equal(t, 7, cmd.ProcessState.ExitCode())
	assert.Equal(t, "from-env\n", out.String())
	data := make([]byte, 4096)
	n, _ := r.Read(data)
	rs, err := ReadReports(data[:n])
	require.NoError(t, err)
	assert.Equal(t, []Report{{Ready: true}, {Exited: true, ExitCode: 7}}, rs)
}

func TestInitReportsStartFailure(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	cmd := InitCommand("/no/such/command", []string{"x"}, nil)
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Run()
	w.Close()
	require.Error(t, err)
	data := make([]byte, 4096)
	n, _ := r.Read(data)
	rs, err := ReadReports(data[:n])
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Contains(t, rs[0].Err, "/no/such/command")
}

func TestMountFlags(t *testing.T) {
	for options, want := range map[string]uintptr{
		"rw,relatime":                     0,
		"ro,nosuid,nodev,noexec,relatime": unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		"rw,nosuid,noatime":               unix.MS_NOSUID,
		"":                                0,
	} {
		assert.Equal(t, want, mountFlags(options), options)
	}
}

// TestInitGate runs the init with a gate: it starts the command only once
// a byte arrives there, and gives up, starting nothing, when the gate
// closes without one.
func TestInitGate(t *testing.T) {
	for _, open := range []bool{true, false} {
		t.Run(fmt.Sprint("open=", open), func(t *testing.T) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			defer r.Close()
			gateR, gateW, err := os.Pipe()
			require.NoError(t, err)
			env, err := WithSetup(nil, Setup{Gate: 4})
			require.NoError(t, err)
			cmd := InitCommand("/bin/sh", []string{"sh", "-c", "echo started"}, env)
			cmd.ExtraFiles = []*os.File{w, gateR}
			var out strings.Builder
			cmd.Stdout = &out
			require.NoError(t, cmd.Start())
			w.Close()
			gateR.Close()
			if open {
				_, err = gateW.Write([]byte{1})
				require.NoError(t, err)
			}
			gateW.Close()
			waitErr := cmd.Wait()
			data, err := io.ReadAll(r)
			require.NoError(t, err)
			rs, err := ReadReports(data)
			require.NoError(t, err)
			if open {
				require.NoError(t, waitErr)
				assert.Equal(t, "started\n", out.String())
				assert.Equal(t, []Report{{Ready: true}, {Exited: true}}, rs)
				return
			}
			require.Error(t, waitErr)
			assert.Empty(t, out.String())
			assert.Equal(t, []Report{{Err: errGateClosed}}, rs)
		})
	}
}
