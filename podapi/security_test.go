package podapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
	"github.com/podkit/podkit/podapi"
)

// nobody is the uid and gid of the unprivileged user of these tests.
const nobody = 65534

// statusRequest is a raw HTTP request for the pod's status, as socat sends
// it.
const statusRequest = `printf 'GET /v1/status HTTP/1.0\r\n\r\n' | socat -t2 - UNIX-CONNECT:`

// serveFunc serves handler on ln until the test ends.
func serveFunc(t *testing.T, ln net.Listener, handler http.HandlerFunc) {
	t.Helper()
	srv := &http.Server{Handler: handler}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// TestSocketModesAndOtherUsers keeps what held up in the audit: the run
// directory is 0700, the pod's directory 0700, the socket 0600; and a user
// other than root and the server's is refused even when the modes would
// let it in.
func TestSocketModesAndOtherUsers(t *testing.T) {
	testenv.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "run")
	ln, err := podapi.Listen(dir, "modes")
	require.NoError(t, err)
	serveFunc(t, ln, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("answered")) })
	for path, want := range map[string]os.FileMode{
		dir:                             os.ModeDir | 0o700,
		filepath.Join(dir, "modes"):     os.ModeDir | 0o700,
		podapi.SocketPath(dir, "modes"): os.ModeSocket | 0o600,
	} {
		fi, err := os.Lstat(path)
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode(), path)
	}

	// Root on the host is answered.
	out, err := exec.Command("sh", "-c", statusRequest+podapi.SocketPath(dir, "modes")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "answered")

	// Open everything to everyone: the listener still refuses nobody.
	require.NoError(t, os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "modes"), 0o755))
	require.NoError(t, os.Chmod(podapi.SocketPath(dir, "modes"), 0o666))
	cmd := exec.Command("sh", "-c", statusRequest+podapi.SocketPath(dir, "modes"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, _ = cmd.CombinedOutput()
	assert.NotContains(t, string(out), "answered", "another user was answered")
	assert.NotContains(t, string(out), "Permission denied", "the socket's mode refused, not the listener")
}

// TestRefusesContainersAndLesserCallers shows that the listener alone
// refuses a container's processes (another PID and mount namespace), even
// uid 0 with every capability, and a host process without the server's
// capabilities; the pods here do not mask the run directory.
func TestRefusesContainersAndLesserCallers(t *testing.T) {
	testenv.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "run")
	ln, err := podapi.Listen(dir, "target")
	require.NoError(t, err)
	serveFunc(t, ln, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("answered")) })
	sock := podapi.SocketPath(dir, "target")

	// A host process of root without capabilities.
	out, err := exec.Command("setpriv", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
		"sh", "-c", statusRequest+sock).CombinedOutput()
	t.Logf("setpriv: %s", out)
	assert.NotContains(t, string(out), "answered", "a process without capabilities was answered")
	_ = err

	for name, sc := range map[string]*pod.SecurityContext{
		"root":    nil,
		"dropped": {RunAsUser: new(int64(0)), ReadOnlyRootFilesystem: true, AllowPrivilegeEscalation: new(false), Capabilities: &pod.Capabilities{Drop: []string{"ALL"}}},
	} {
		t.Run(name, func(t *testing.T) {
			var buf podtest.Buffer
			p := podtest.Start(t, "peer-"+name, pod.Spec{
				RestartPolicy: pod.RestartNever,
				Containers: []pod.Container{{Name: "c", SecurityContext: sc, Stdout: &buf, Stderr: &buf,
					Command: []string{"sh", "-c", statusRequest + sock + "; echo end"}}},
			})
			select {
			case <-p.Done():
			case <-time.After(30 * time.Second):
				t.Fatal("the container did not end")
			}
			assert.Contains(t, buf.String(), "end")
			assert.NotContains(t, buf.String(), "answered", "a container was answered")
		})
	}
}

// TestUnsafeRunDir: a run directory another user owns or may write, or a
// pod directory that is a symbolic link, is refused by servers and
// clients alike.
func TestUnsafeRunDir(t *testing.T) {
	testenv.RequireRoot(t)
	base := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(base), 0o755))
	theirs := filepath.Join(base, "theirs")
	require.NoError(t, os.Mkdir(theirs, 0o777))
	require.NoError(t, os.Chmod(theirs, 0o777))
	require.NoError(t, os.Chown(theirs, nobody, nobody))
	open := filepath.Join(base, "open")
	require.NoError(t, os.Mkdir(open, 0o700))
	require.NoError(t, os.Chmod(open, 0o733))
	linked := filepath.Join(base, "linked")
	require.NoError(t, os.Mkdir(linked, 0o700))
	require.NoError(t, os.Mkdir(filepath.Join(base, "elsewhere"), 0o700))
	require.NoError(t, os.Symlink(filepath.Join(base, "elsewhere"), filepath.Join(linked, "p")))

	for _, dir := range []string{theirs, open, linked} {
		_, err := podapi.Listen(dir, "p")
		assert.ErrorIs(t, err, podapi.ErrUnsafeDir, dir)
		_, err = podapi.NewClient(dir, "p").Status(context.Background())
		assert.ErrorIs(t, err, podapi.ErrUnsafeDir, dir)
	}
	_, err := podapi.List(theirs)
	assert.ErrorIs(t, err, podapi.ErrUnsafeDir)
	assert.ErrorContains(t, err, "owned by uid 65534")
}

// TestClientRefusesOtherUsersServer: a server that is neither root nor
// the caller gets neither the request nor its input.
func TestClientRefusesOtherUsersServer(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "fake"), 0o700))
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "fake")
	defer f.Close()
	require.NoError(t, unix.Bind(fd, &unix.SockaddrUnix{Name: podapi.SocketPath(dir, "fake")}))
	// The peer credentials a client sees are those of the thread that
	// called listen: make it nobody's, then root's again.
	listened := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), nobody, ^uintptr(0)); e != 0 {
			listened <- e
			return
		}
		err := unix.Listen(fd, 8)
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), 0, ^uintptr(0)); e != 0 {
			panic("cannot become root again: " + e.Error())
		}
		listened <- err
	}()
	require.NoError(t, <-listened)
	ln, err := net.FileListener(f)
	require.NoError(t, err)
	var got atomic.Int32
	serveFunc(t, ln, func(w http.ResponseWriter, r *http.Request) { got.Add(1) })

	c := podapi.NewClient(dir, "fake")
	defer c.Close()
	_, err = c.Exec(context.Background(), "c", []string{"true"}, strings.NewReader("secret"), &bytes.Buffer{}, &bytes.Buffer{})
	assert.ErrorIs(t, err, podapi.ErrUnsafeDir)
	assert.ErrorContains(t, err, "runs as uid 65534")
	assert.Zero(t, got.Load(), "the other user's server got a request")
}

// TestBoundedFramesAndNoAnswer: a server's 4 GiB frame is refused, not
// allocated; a server that never answers ends a call after DefaultTimeout.
func TestBoundedFramesAndNoAnswer(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	ln, err := podapi.Listen(dir, "huge")
	require.NoError(t, err)
	serveFunc(t, ln, func(w http.ResponseWriter, r *http.Request) {
		var hdr [8]byte
		hdr[0] = podapi.StreamStdout
		binary.BigEndian.PutUint32(hdr[4:], 0xffffffff)
		_, _ = w.Write(hdr[:])
	})
	c := podapi.NewClient(dir, "huge")
	defer c.Close()
	_, err = c.Exec(context.Background(), "c", []string{"true"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "a frame of 4294967295 bytes: more than 1048576")

	ln, err = podapi.Listen(dir, "mute")
	require.NoError(t, err)
	release := make(chan struct{})
	serveFunc(t, ln, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	c = podapi.NewClient(dir, "mute")
	defer c.Close()
	start := time.Now()
	_, err = c.Status(context.Background())
	assert.ErrorIs(t, err, podapi.ErrNotResponding)
	assert.Less(t, time.Since(start), podapi.DefaultTimeout+2*time.Second)
}

// TestLongName: a 253-byte pod name in a long run directory has a socket.
func TestLongName(t *testing.T) {
	testenv.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	name := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	require.Len(t, name, 253)
	ln, err := podapi.Listen(dir, name)
	require.NoError(t, err)
	serveFunc(t, ln, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"name":"long"}`)) })
	st, err := podapi.NewClient(dir, name).Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "long", st.Name)
	names, err := podapi.List(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{name}, names)
}
