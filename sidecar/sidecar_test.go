package sidecar_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
	"github.com/podkit/podkit/sidecar"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logLines returns the container's output lines.
func logLines(t *testing.T, p *pod.Pod, container string) []string {
	t.Helper()
	entries, err := p.Logs(container, pod.LogOptions{})
	require.NoError(t, err)
	var lines []string
	for _, e := range entries {
		lines = append(lines, e.Text)
	}
	return lines
}

func TestLogShipperFollowsRotation(t *testing.T) {
	out := &podtest.Buffer{}
	shipper, err := sidecar.LogShipper{Volume: "logs", Patterns: []string{"*.log"}, Output: out, FromStart: true,
		PollInterval: 50 * time.Millisecond,
		Format:       func(l sidecar.Line) []byte { return []byte(l.Path + ": " + l.Text + "\n") },
	}.Container("shipper")
	require.NoError(t, err)
	// The app writes three lines, rotates its log the way logrotate's
	// create mode does (the old file gets one more line after the rename),
	// then writes to the new file.
	app := `cd /mnt
echo one >> app.log; echo two >> app.log
mv app.log app.log.1; echo three >> app.log.1
echo four >> app.log; echo five >> app.log
sleep 1000`
	podtest.Start(t, "logship", pod.Spec{
		Volumes:        []pod.Volume{{Name: "logs", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{shipper},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", app},
			VolumeMounts: []pod.VolumeMount{{Name: "logs", MountPath: "/mnt"}}}},
	})
	want := "app.log: one\napp.log: two\napp.log: three\napp.log: four\napp.log: five\n"
	require.Eventually(t, func() bool { return out.String() == want }, 10*time.Second, 20*time.Millisecond,
		"shipped: %q", out)
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, want, out.String(), "a line was shipped twice")
}

// A container that may not read a root-only file links to it from a shared
// volume; the log shipper, which runs as root, neither ships the file nor
// follows the link, and says so in its log.
func TestLogShipperDoesNotFollowLinksOut(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("root only\n"), 0o600))
	out := &podtest.Buffer{}
	shipper, err := sidecar.LogShipper{Volume: "logs", Patterns: []string{"*.log"}, Output: out, FromStart: true,
		PollInterval: 20 * time.Millisecond}.Container("shipper")
	require.NoError(t, err)
	uid := int64(65534) // nobody
	p := podtest.Start(t, "logship-link", pod.Spec{
		Volumes:        []pod.Volume{{Name: "logs", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{shipper},
		Containers: []pod.Container{{Name: "app",
			Command:         []string{"sh", "-c", "cat " + secret + " || echo denied; ln -s " + secret + " /mnt/x.log; echo ok >> /mnt/app.log; sleep 1000"},
			VolumeMounts:    []pod.VolumeMount{{Name: "logs", MountPath: "/mnt"}},
			SecurityContext: &pod.SecurityContext{RunAsUser: &uid}}},
	})
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "ok") }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(strings.Join(logLines(t, p, "shipper"), "\n"), "x.log")
	}, 10*time.Second, 20*time.Millisecond, "the shipper did not report the link")
	assert.Contains(t, strings.Join(logLines(t, p, "app"), "\n"), "denied", "the app could read the file itself")
	time.Sleep(100 * time.Millisecond)
	assert.NotContains(t, out.String(), "root only")
	assert.Contains(t, strings.Join(logLines(t, p, "shipper"), "\n"), "resolves outside")
}

func TestConfigReloaderSignalsOnChange(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "app.conf")
	require.NoError(t, os.WriteFile(conf, []byte("v1\n"), 0o644))
	reloader, err := sidecar.ConfigReloader{Path: conf, Target: "app", Debounce: 50 * time.Millisecond}.Container("reloader")
	require.NoError(t, err)
	p := podtest.Start(t, "reload", pod.Spec{
		Containers: []pod.Container{
			{Name: "app", Command: []string{"sh", "-c",
				`trap 'echo reload: $(cat ` + conf + `)' HUP; echo started; while :; do sleep 0.02; done`}},
			reloader,
		},
	})
	require.Eventually(t, func() bool {
		return len(logLines(t, p, "app")) == 1 && len(logLines(t, p, "reloader")) == 1
	}, 10*time.Second, 20*time.Millisecond)

	// A burst of writes gives one reload, with the last content.
	for _, v := range []string{"v2", "v3", "v4"} {
		require.NoError(t, os.WriteFile(conf, []byte(v+"\n"), 0o644))
	}
	require.Eventually(t, func() bool { return len(logLines(t, p, "app")) == 2 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, []string{"started", "reload: v4"}, logLines(t, p, "app"))
	// Rewriting the same content sends nothing.
	require.NoError(t, os.WriteFile(conf, []byte("v4\n"), 0o644))
	time.Sleep(300 * time.Millisecond)
	assert.Len(t, logLines(t, p, "app"), 2, "the same content reloaded the app")
	assert.Contains(t, strings.Join(logLines(t, p, "reloader"), "\n"), "sent SIGHUP to container app")
	app, _ := p.Status().Container("app")
	assert.Zero(t, app.RestartCount)
}

func TestConfigReloaderUnknownContainer(t *testing.T) {
	reloader, err := sidecar.ConfigReloader{Path: t.TempDir(), Target: "nope"}.Container("reloader")
	require.NoError(t, err)
	p := podtest.Start(t, "reload-unknown", pod.Spec{
		InitContainers: []pod.Container{reloader},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	var c pod.ContainerStatus
	require.Eventually(t, func() bool {
		c, _ = p.Status().Container("reloader")
		return c.RestartCount > 0
	}, 10*time.Second, 20*time.Millisecond)
	last := c.LastTerminationState.Terminated
	require.NotNil(t, last)
	assert.Equal(t, pod.FuncErrorExitCode, last.ExitCode)
	assert.Contains(t, last.Message, `sidecar: config reloader: target: pod "reload-unknown" has no container "nope"`)
}

func TestContentSyncerGatesUntilFirstSync(t *testing.T) {
	var attempts atomic.Int32
	syncer, err := sidecar.ContentSyncer{Volume: "site", Interval: 20 * time.Millisecond, WaitForFirstSync: true,
		Sync: func(ctx context.Context, dir string) error {
			if attempts.Add(1) < 3 {
				return errors.New("source unreachable")
			}
			// Replace the file whole: the next sync runs while the web
			// container reads it.
			tmp := filepath.Join(dir, ".index.html.tmp")
			if err := os.WriteFile(tmp, []byte("<h1>hello</h1>\n"), 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, filepath.Join(dir, "index.html"))
		}}.Container("sync")
	require.NoError(t, err)
	p := podtest.Start(t, "contentsync", pod.Spec{
		RestartPolicy:  pod.RestartNever,
		Volumes:        []pod.Volume{{Name: "site", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{syncer},
		Containers: []pod.Container{{Name: "web", Command: []string{"cat", "/mnt/index.html"},
			VolumeMounts: []pod.VolumeMount{{Name: "site", MountPath: "/mnt"}}}},
	})
	require.NoError(t, p.Wait(), "the app started before the first sync")
	assert.Equal(t, []string{"<h1>hello</h1>"}, logLines(t, p, "web"))
	sync := strings.Join(logLines(t, p, "sync"), "\n")
	assert.Contains(t, sync, "sync failed: source unreachable")
	assert.Contains(t, sync, "synced ")
}

func TestContentSyncerCommandAndReadiness(t *testing.T) {
	syncer, err := sidecar.ContentSyncer{Volume: "data", Interval: 30 * time.Millisecond,
		Command: []string{"sh", "-c", `[ "$PWD" = "$SYNC_DEST" ] && date +%s%N > stamp`}}.Container("sync")
	require.NoError(t, err)
	p := podtest.Start(t, "synccmd", pod.Spec{
		Volumes:        []pod.Volume{{Name: "data", EmptyDir: &pod.EmptyDirVolume{}}},
		InitContainers: []pod.Container{syncer},
		Containers:     []pod.Container{{Name: "app", Command: []string{"sleep", "1000"}}},
	})
	require.Eventually(t, func() bool {
		c, _ := p.Status().Container("sync")
		return c.Ready
	}, 10*time.Second, 20*time.Millisecond)
	dir, err := p.VolumePath("data")
	require.NoError(t, err)
	first, err := os.ReadFile(filepath.Join(dir, "stamp"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		again, _ := os.ReadFile(filepath.Join(dir, "stamp"))
		return len(again) > 0 && !bytes.Equal(again, first)
	}, 10*time.Second, 20*time.Millisecond, "no second sync on the interval")
}

func TestValidation(t *testing.T) {
	tests := []struct {
		build func() (pod.Container, error)
		want  string
	}{
		{func() (pod.Container, error) { return sidecar.LogShipper{Output: os.Stdout}.Container("s") },
			"sidecar: log shipper: patterns: at least one is required"},
		{func() (pod.Container, error) {
			return sidecar.LogShipper{Patterns: []string{"[x"}, Output: os.Stdout}.Container("s")
		}, `sidecar: log shipper: patterns[0]: invalid pattern "[x"`},
		{func() (pod.Container, error) {
			return sidecar.LogShipper{Volume: "v", Patterns: []string{"/abs/*.log"}, Output: os.Stdout}.Container("s")
		}, `patterns[0]: "/abs/*.log" must be relative to volume "v"`},
		{func() (pod.Container, error) { return sidecar.ConfigReloader{Path: "/etc/app"}.Container("r") },
			"sidecar: config reloader: target: required"},
		{func() (pod.Container, error) { return sidecar.ConfigReloader{Target: "app"}.Container("r") },
			"sidecar: config reloader: path: one of volume and path is required"},
		{func() (pod.Container, error) { return sidecar.ContentSyncer{Dir: "/srv"}.Container("c") },
			"sidecar: content syncer: command: one of command and sync is required"},
		{func() (pod.Container, error) {
			return sidecar.ContentSyncer{Dir: "/srv", Command: []string{"true"}, Interval: -time.Second}.Container("c")
		}, "sidecar: content syncer: interval: -1s is negative"},
		{func() (pod.Container, error) {
			return sidecar.ContentSyncer{Dir: "/srv", Command: []string{"true"}}.Container("")
		}, "sidecar: content syncer: name: required"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.build()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
