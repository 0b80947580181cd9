package initcontainer_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newPod returns a pod, checking for root first.
func newPod(t *testing.T, name string, spec pod.Spec, opts ...pod.Option) *pod.Pod {
	t.Helper()
	testenv.RequireRoot(t)
	p, err := pod.New(name, spec, opts...)
	require.NoError(t, err)
	return p
}

func TestStepsRunInOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	step := func(name string) pod.Container {
		return pod.Container{Name: name, Func: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name)
			return nil
		}}
	}
	p := newPod(t, "steps", pod.Spec{
		RestartPolicy: pod.RestartNever,
		InitContainers: []pod.Container{
			step("first"),
			step("second"),
			{Name: "third", Command: []string{"true"}},
			step("fourth"),
		},
		Containers: []pod.Container{{Name: "app", Func: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "app")
			return nil
		}}},
	})
	require.NoError(t, p.Run(context.Background()))
	assert.Equal(t, []string{"first", "second", "fourth", "app"}, order)
	third, _ := p.Status().Container("third")
	assert.Equal(t, pod.RoleInit, third.Role)
	assert.Equal(t, 0, third.State.Terminated.ExitCode)
}

func TestFailedStepPerRestartPolicy(t *testing.T) {
	t.Run("Never fails the pod", func(t *testing.T) {
		ran := false
		p := newPod(t, "step-never", pod.Spec{
			RestartPolicy:  pod.RestartNever,
			InitContainers: []pod.Container{{Name: "migrate", Func: func(context.Context) error { return errors.New("schema locked") }}},
			Containers:     []pod.Container{{Name: "app", Func: func(context.Context) error { ran = true; return nil }}},
		})
		err := p.Run(context.Background())
		var exit *pod.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, "migrate", exit.Container)
		assert.Equal(t, "schema locked", exit.Message)
		assert.False(t, ran, "the app ran after its init container failed")
	})
	t.Run("OnFailure retries", func(t *testing.T) {
		tries := 0
		p := newPod(t, "step-retry", pod.Spec{
			RestartPolicy: pod.RestartOnFailure,
			InitContainers: []pod.Container{{Name: "migrate", Func: func(context.Context) error {
				if tries++; tries < 3 {
					return errors.New("schema locked")
				}
				return nil
			}}},
			Containers: []pod.Container{{Name: "app", Command: []string{"true"}}},
		}, pod.WithBackoff(pod.Backoff{Initial: time.Millisecond}))
		require.NoError(t, p.Run(context.Background()))
		migrate, _ := p.Status().Container("migrate")
		assert.Equal(t, 2, migrate.RestartCount)
		assert.Equal(t, 3, tries)
	})
}

func TestWaitForTCPInsidePod(t *testing.T) {
	// A sidecar listens a moment after it starts; the init step after it
	// waits for that.
	late := pod.Container{Name: "late", RestartPolicy: pod.RestartAlways, Func: func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		time.Sleep(150 * time.Millisecond)
		ln, err := self.Pod.Listen(ctx, "tcp", "127.0.0.1:7200")
		if err != nil {
			return err
		}
		<-ctx.Done()
		return ln.Close()
	}}
	wait, err := initcontainer.WaitForTCP{Address: "127.0.0.1:7200", Interval: 20 * time.Millisecond, Timeout: 10 * time.Second}.Container("wait")
	require.NoError(t, err)
	p := newPod(t, "waitfor", pod.Spec{
		RestartPolicy: pod.RestartNever,
		InitContainers: []pod.Container{
			late,
			wait,
		},
		Containers: []pod.Container{{Name: "app", Command: []string{"true"}}},
	})
	require.NoError(t, p.Run(context.Background()))
	logs, err := p.Logs("wait", pod.LogOptions{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(logs), 2, "the step did not wait")
	assert.Contains(t, logs[0].Text, "waiting for 127.0.0.1:7200 (attempt 1)")
	assert.Equal(t, "127.0.0.1:7200 accepts connections", logs[len(logs)-1].Text)
}

func TestWaitForTCPTimeoutAndHost(t *testing.T) {
	// Listening on the host's loopback: visible from the host, not from
	// inside a pod.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	require.NoError(t, initcontainer.WaitForTCP{Address: ln.Addr().String(), FromHost: true}.Run(context.Background()))

	wait, err := initcontainer.WaitForTCP{Address: ln.Addr().String(), Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond}.Container("wait")
	require.NoError(t, err)
	p := newPod(t, "waitfor-timeout", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		InitContainers: []pod.Container{wait},
		Containers:     []pod.Container{{Name: "app", Command: []string{"true"}}},
	})
	err = p.Run(context.Background())
	var exit *pod.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Contains(t, exit.Message, "no connection within 100ms")
}

// archive builds a gzip-compressed tar of the entries.
func archive(t *testing.T, entries ...*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = "content of " + h.Name + "\n"
			h.Size = int64(len(body))
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	path := filepath.Join(t.TempDir(), "site.tar.gz")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

func TestExtractIntoVolume(t *testing.T) {
	site := archive(t,
		&tar.Header{Name: "site/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "site/index.html", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "site/bin/run.sh", Typeflag: tar.TypeReg, Mode: 0o755},
		&tar.Header{Name: "site/home.html", Typeflag: tar.TypeSymlink, Linkname: "index.html"},
	)
	extract, err := initcontainer.Extract{Archive: site, Volume: "www"}.Container("unpack")
	require.NoError(t, err)
	p := newPod(t, "extract", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		Volumes:        []pod.Volume{{Name: "www", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{extract},
		Containers: []pod.Container{{Name: "web", Command: []string{"sh", "-c", "cat /mnt/site/home.html; test -x /mnt/site/bin/run.sh"},
			VolumeMounts: []pod.VolumeMount{{Name: "www", MountPath: "/mnt"}}}},
	})
	require.NoError(t, p.Run(context.Background()))
	logs, err := p.Logs("web", pod.LogOptions{})
	require.NoError(t, err)
	require.Len(t, logs, 1)
	assert.Equal(t, "content of site/index.html", logs[0].Text)
}

func TestExtractRefusesEscapes(t *testing.T) {
	tests := []struct {
		name    string
		entries []*tar.Header
		want    string
	}{
		{"dotdot", []*tar.Header{{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644}}, `entry "../evil": path leaves the destination`},
		{"absolute", []*tar.Header{{Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o644}}, `entry "/etc/evil": path leaves the destination`},
		{"through-symlink", []*tar.Header{
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
			{Name: "link/evil", Typeflag: tar.TypeReg, Mode: 0o644},
		}, `entry "link/evil"`},
		{"device", []*tar.Header{{Name: "null", Typeflag: tar.TypeChar, Mode: 0o644}}, `entry "null": unsupported entry type`},
		{"hardlink", []*tar.Header{{Name: "passwd", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}}, `entry "passwd": unsupported entry type`},
		{"fifo", []*tar.Header{{Name: "p", Typeflag: tar.TypeFifo, Mode: 0o644}}, `entry "p": unsupported entry type`},
		{"dotdot-inside", []*tar.Header{{Name: "a/../../evil", Typeflag: tar.TypeReg, Mode: 0o644}}, `entry "a/../../evil": path leaves the destination`},
		{"relative-symlink", []*tar.Header{
			{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../tmp"},
			{Name: "up/evil", Typeflag: tar.TypeReg, Mode: 0o644},
		}, `entry "up/evil"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			err := initcontainer.Extract{Archive: archive(t, tt.entries...), Dir: dest}.Run(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			_, statErr := os.Stat("/tmp/evil")
			assert.True(t, os.IsNotExist(statErr), "an entry was written outside the destination")
		})
	}
}

func TestExtractStripsSetuid(t *testing.T) {
	dest := t.TempDir()
	err := initcontainer.Extract{Archive: archive(t,
		&tar.Header{Name: "suid", Typeflag: tar.TypeReg, Mode: 0o4755},
		&tar.Header{Name: "sgid-dir", Typeflag: tar.TypeDir, Mode: 0o2775},
	), Dir: dest}.Run(context.Background())
	require.NoError(t, err)
	for name, want := range map[string]os.FileMode{"suid": 0o755, "sgid-dir": os.ModeDir | 0o775} {
		fi, err := os.Stat(filepath.Join(dest, name))
		require.NoError(t, err)
		assert.Equal(t, want, fi.Mode(), name)
	}
}

// TestExtractKeepsDestinationMode is issue 14's archive whose only entry is
// "." with mode 0777.
func TestExtractKeepsDestinationMode(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "dest")
	require.NoError(t, os.Mkdir(dest, 0o755))
	err := initcontainer.Extract{Archive: archive(t,
		&tar.Header{Name: ".", Typeflag: tar.TypeDir, Mode: 0o777},
		&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o777},
	), Dir: dest}.Run(context.Background())
	require.NoError(t, err)
	fi, err := os.Stat(dest)
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|0o755, fi.Mode())
}

// bomb writes a gzip-compressed tar with one file of size zero bytes and
// entries empty files.
func bomb(t *testing.T, size int64, entries int) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if size > 0 {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}))
		zeros := make([]byte, 1<<20)
		for left := size; left > 0; left -= int64(len(zeros)) {
			_, err := tw.Write(zeros[:min(left, int64(len(zeros)))])
			require.NoError(t, err)
		}
	}
	for i := range entries {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", i), Typeflag: tar.TypeReg, Mode: 0o644}))
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	path := filepath.Join(t.TempDir(), "bomb.tar.gz")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// TestExtractBounds runs a gzip bomb as an init container: the pod fails
// with the bound named, and nothing over it reached the volume.
func TestExtractBounds(t *testing.T) {
	tests := []struct {
		name    string
		extract initcontainer.Extract
		want    string
	}{
		{"bytes", initcontainer.Extract{Archive: bomb(t, 64<<20, 0), MaxBytes: 1 << 20},
			`entry "big": 67108864 bytes would take the archive over 1048576 bytes (maxBytes)`},
		{"entries", initcontainer.Extract{Archive: bomb(t, 0, 50), MaxEntries: 10},
			`entry "f10": the archive has more than 10 entries (maxEntries)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.extract.Volume = "www"
			unpack, err := tt.extract.Container("unpack")
			require.NoError(t, err)
			p := newPod(t, "bomb-"+tt.name, pod.Spec{
				RestartPolicy:  pod.RestartNever,
				Volumes:        []pod.Volume{{Name: "www", EmptyDir: &pod.EmptyDirVolume{}}},
				InitContainers: []pod.Container{unpack},
				Containers:     []pod.Container{{Name: "web", Command: []string{"true"}}},
			})
			require.Error(t, p.Run(context.Background()))
			var msg string
			for _, cs := range p.Status().Containers {
				if cs.Name == "unpack" && cs.State.Terminated != nil {
					msg = cs.State.Terminated.Message
				}
			}
			assert.Contains(t, msg, tt.want)
		})
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		build func() (pod.Container, error)
		want  string
	}{
		{func() (pod.Container, error) { return initcontainer.WaitForTCP{Address: "nohost"}.Container("w") },
			`initcontainer: wait for TCP: address: "nohost"`},
		{func() (pod.Container, error) {
			return initcontainer.WaitForTCP{Address: "db:5432", Interval: -1}.Container("w")
		}, "initcontainer: wait for TCP: interval: -1ns is negative"},
		{func() (pod.Container, error) { return initcontainer.WaitForTCP{Address: "db:5432"}.Container("") },
			"initcontainer: wait for TCP: name: required"},
		{func() (pod.Container, error) { return initcontainer.Extract{Dir: "/srv"}.Container("x") },
			"initcontainer: extract: archive: required"},
		{func() (pod.Container, error) {
			return initcontainer.Extract{Archive: "a.tar", Volume: "v", Dir: "../up"}.Container("x")
		}, `initcontainer: extract: dir: "../up" must be a relative path inside volume "v"`},
		{func() (pod.Container, error) {
			return initcontainer.Extract{Archive: "a.tar", Dir: "/srv", MaxBytes: -1}.Container("x")
		}, "initcontainer: extract: maxBytes: -1 is negative"},
		{func() (pod.Container, error) {
			return initcontainer.Extract{Archive: "a.tar", Dir: "/srv", MaxEntries: -1}.Container("x")
		}, "initcontainer: extract: maxEntries: -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.build()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	err := initcontainer.Extract{Archive: "/no/such.tar", Dir: t.TempDir()}.Run(context.Background())
	assert.ErrorIs(t, err, os.ErrNotExist)
}
