package pod_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/pod"
)

// layerStore is an ImageStore over layer directories the test writes, in
// overlayfs's form, as package image leaves them: the pod's side of the
// interface is tested here, the store's in package image.
type layerStore struct {
	mu       sync.Mutex
	images   map[string]pod.Image // by reference
	registry map[string]pod.Image // what Pull finds
	pulls    int
	released int
	pullErr  error
}

func (s *layerStore) Lookup(_ context.Context, ref string) (*pod.Image, error) {
	if strings.ContainsAny(ref, " !") {
		return nil, fmt.Errorf("image: %q: %w", ref, pod.ErrInvalidImageName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.images[ref]
	if !ok {
		return nil, fmt.Errorf("image: %q: %w", ref, pod.ErrImageNotPresent)
	}
	img.Release = s.release
	return &img, nil
}

func (s *layerStore) Pull(ctx context.Context, ref string) (*pod.Image, error) {
	if strings.ContainsAny(ref, " !") {
		return nil, fmt.Errorf("image: %q: %w", ref, pod.ErrInvalidImageName)
	}
	s.mu.Lock()
	s.pulls++
	img, ok := s.registry[ref]
	err := s.pullErr
	if ok && err == nil {
		s.images[ref] = img
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("image: %q: manifest unknown", ref)
	}
	return s.Lookup(ctx, ref)
}

func (s *layerStore) release() {
	s.mu.Lock()
	s.released++
	s.mu.Unlock()
}

func (s *layerStore) counts() (pulls, released int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pulls, s.released
}

// busyboxImage returns a two-layer image: busybox with its applets and an
// /etc/passwd, then a layer that deletes /etc/motd (a whiteout), replaces
// /opt's contents (an opaque directory) and adds the user "app".
func busyboxImage(t testing.TB) pod.Image {
	t.Helper()
	base := busyboxRootfs(t)
	for _, applet := range []string{"ps", "grep", "wc", "rm", "mkdir", "head", "tr"} {
		require.NoError(t, os.Symlink("busybox", filepath.Join(base, "bin", applet)))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(base, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(base, "etc", "group"), []byte("root:x:0:\nnogroup:x:65534:\nstaff:x:50:app\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(base, "etc", "motd"), []byte("from the base\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(base, "opt", "old"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(base, "tmp"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(base, "tmp"), 0o1777))

	top := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(top, "etc"), 0o755))
	require.NoError(t, unix.Mknod(filepath.Join(top, "etc", "motd"), unix.S_IFCHR, 0))
	require.NoError(t, os.WriteFile(filepath.Join(top, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(top, "opt"), 0o755))
	require.NoError(t, unix.Setxattr(filepath.Join(top, "opt"), "trusted.overlay.opaque", []byte("y"), 0))
	require.NoError(t, os.WriteFile(filepath.Join(top, "opt", "new"), nil, 0o644))
	// A layer's root directory is the image's "/", which every user of
	// the container passes through.
	require.NoError(t, os.Chmod(base, 0o755))
	require.NoError(t, os.Chmod(top, 0o755))
	return pod.Image{
		Name: "registry.test/busybox:1", Digest: "sha256:" + strings.Repeat("1", 64), ID: "sha256:" + strings.Repeat("2", 64),
		Size: 1 << 20, Layers: []string{base, top},
		Config: pod.ImageConfig{Entrypoint: []string{"sh", "-c"}, Cmd: []string{"echo from the image cmd"},
			Env: []string{"PATH=/bin", "FROM_IMAGE=yes", "OVERRIDDEN=image"}, WorkingDir: "/opt"},
	}
}

// layerDigest summarises a layer directory's tree, to check that nothing
// wrote into it.
func layerDigest(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %d\n", strings.TrimPrefix(path, dir), fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	}))
	return b.String()
}

func TestContainerRunsFromImage(t *testing.T) {
	img := busyboxImage(t)
	store := &layerStore{images: map[string]pod.Image{"busybox:1": img}}
	before := []string{layerDigest(t, img.Layers[0]), layerDigest(t, img.Layers[1])}
	state := t.TempDir()
	hostMarker := filepath.Join("/tmp", fmt.Sprintf("podkit-image-host-%d", time.Now().UnixNano()))
	p, rec, stop := startPod(t, "image", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Hostname:      "imaged",
		Volumes:       []pod.Volume{{Name: "work", EmptyDir: &pod.EmptyDirVolume{}}},
		Containers: []pod.Container{
			// The image's Entrypoint and Cmd.
			{Name: "default", Image: "busybox:1"},
			// args replace Cmd and keep the Entrypoint; the image's
			// environment comes before the container's.
			{Name: "args", Image: "busybox:1", Env: []string{"OVERRIDDEN=container"},
				Args: []string{`echo "$FROM_IMAGE $OVERRIDDEN $(pwd) $HOME"; ls /opt; cat /etc/motd 2>&1 | wc -l; ` +
					`echo written > /tmp/mine; echo written > ` + hostMarker + `; ls /work-dir; hostname; cat /etc/hostname; ` +
					`grep -c imaged /etc/hosts; ls /proc | grep -c '^[0-9]'; sleep 1000`},
				VolumeMounts: []pod.VolumeMount{{Name: "work", MountPath: "/work-dir"}}},
			// command replaces both; the image's user by name, resolved
			// in its /etc/passwd and /etc/group.
			{Name: "user", Image: "busybox:1", Command: []string{"sh", "-c", "id; echo $HOME; cat /tmp/mine 2>&1 | wc -l; pwd"},
				WorkingDir: "/srv/new"}, // created, as runc creates it
		},
	}, pod.WithStateDir(state), pod.WithImages(store))
	waitLogs(t, p, "args", 7)
	if index(rec, pod.EventExited, "default") < 0 {
		rec.until("default exited", isReason(pod.EventExited, "default"))
	}
	assert.Equal(t, []string{"from the image cmd"}, logText(t, p, "default", pod.LogOptions{}))
	lines := logText(t, p, "args", pod.LogOptions{})
	assert.Equal(t, []string{
		"yes container /opt /root", // WorkingDir and HOME from the image and its passwd
		"new",                      // /opt is opaque in the top layer
		"1",                        // /etc/motd is whited out: one line of error
		"imaged", "imaged",         // /work-dir was created inside the root: ls printed nothing
		"1",
	}, lines[:6], "%q", lines)
	assert.Contains(t, []string{"3", "4", "5"}, lines[6], "/proc shows more than the container's init, sh, ls and grep: it is not the container's")
	if index(rec, pod.EventExited, "user") < 0 {
		rec.until("user exited", isReason(pod.EventExited, "user"))
	}
	user := logText(t, p, "user", pod.LogOptions{})
	assert.Equal(t, []string{"uid=0(root) gid=0(root)", "/root", "1", "/srv/new"}, user, "another container sees the first one's writes")
	assert.NoFileExists(t, hostMarker, "a write reached the host")
	os.Remove(hostMarker)

	// exec runs inside the image with the container's environment.
	var out strings.Builder
	cmd := exec.Command("sh", "-c", `echo $FROM_IMAGE $(pwd); cat /tmp/mine`)
	cmd.Stdout = &out
	require.NoError(t, p.Exec(context.Background(), "args", cmd))
	assert.Equal(t, "yes /opt\nwritten\n", out.String())
	assert.Contains(t, rec.String(), `Pulled main/default Container image "busybox:1" already present on machine`)
	cs, _ := p.Status().Container("args")
	assert.Equal(t, img.Name, cs.Image)
	assert.Equal(t, img.ID, cs.ImageID)

	stop()
	_ = p.Wait()
	assert.Equal(t, before, []string{layerDigest(t, img.Layers[0]), layerDigest(t, img.Layers[1])}, "a container wrote into the image's layers")
	pods, err := os.ReadDir(filepath.Join(state, "pods"))
	require.NoError(t, err)
	assert.Empty(t, pods, "the writable layers outlived the pod")
	_, released := store.counts()
	assert.Equal(t, 3, released, "every use of the image was released")

	// The next pod of the same image starts from the image again.
	p2, rec2, _ := startPod(t, "image2", pod.Spec{RestartPolicy: pod.RestartNever, Containers: []pod.Container{
		{Name: "c", Image: "busybox:1", Command: []string{"sh", "-c", "cat /tmp/mine 2>&1 | wc -l"}}},
	}, pod.WithStateDir(state), pod.WithImages(store))
	rec2.until("exited", isReason(pod.EventExited, "c"))
	assert.Equal(t, []string{"1"}, logText(t, p2, "c", pod.LogOptions{}), "a later pod sees an earlier one's writes")
}

func TestImageUserAndReadOnlyRoot(t *testing.T) {
	img := busyboxImage(t)
	img.Config.User = "app:staff"
	store := &layerStore{images: map[string]pod.Image{"busybox:app": img}}
	nobody := int64(65534)
	p, rec, _ := startPod(t, "image-user", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Containers: []pod.Container{
			{Name: "image-user", Image: "busybox:app", Command: []string{"sh", "-c", "id -u; id -g; echo $HOME"}},
			{Name: "run-as", Image: "busybox:app", Command: []string{"sh", "-c", "id -u; id -g"},
				SecurityContext: &pod.SecurityContext{RunAsUser: &nobody}},
			// A uid the host does not know, and the image does not either.
			{Name: "unknown-uid", Image: "busybox:app", Command: []string{"sh", "-c", "id -u; id -g"},
				SecurityContext: &pod.SecurityContext{RunAsUser: new(int64(4242))}},
			{Name: "read-only", Image: "busybox:app", Command: []string{"sh", "-c", "touch /x 2>/dev/null && echo writable || echo read-only; ls /dev"},
				SecurityContext: &pod.SecurityContext{ReadOnlyRootFilesystem: true, RunAsUser: new(int64(0))}},
		},
	}, pod.WithStateDir(t.TempDir()), pod.WithImages(store))
	for _, c := range []string{"image-user", "run-as", "unknown-uid", "read-only"} {
		if index(rec, pod.EventExited, c) < 0 {
			rec.until(c+" exited", isReason(pod.EventExited, c))
		}
	}
	_ = p
	assert.Equal(t, []string{"1000", "50", "/home/app"}, logText(t, p, "image-user", pod.LogOptions{}))
	assert.Equal(t, []string{"65534", "65534"}, logText(t, p, "run-as", pod.LogOptions{}), "runAsUser's group is not the image's")
	assert.Equal(t, []string{"4242", "0"}, logText(t, p, "unknown-uid", pod.LogOptions{}))
	ro := logText(t, p, "read-only", pod.LogOptions{})
	require.NotEmpty(t, ro)
	assert.Equal(t, "read-only", ro[0])
	for _, dev := range []string{"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm"} {
		assert.Contains(t, ro[1:], dev)
	}
}

func TestImagePullPolicy(t *testing.T) {
	img := busyboxImage(t)
	for _, tc := range []struct {
		name      string
		image     string
		policy    pod.PullPolicy
		local     bool
		registry  bool
		wantPulls int
		want      []string // event reasons about the image, in order
		waiting   string   // the container's waiting reason, when it never runs
	}{
		{name: "if-not-present-local", image: "busybox:1", local: true, want: []string{"Pulled"}},
		{name: "if-not-present-missing", image: "busybox:1", registry: true, wantPulls: 1, want: []string{"Pulling", "Pulled"}},
		{name: "latest-always", image: "busybox", local: true, registry: true, wantPulls: 1, want: []string{"Pulling", "Pulled"}},
		{name: "always-explicit", image: "busybox:1", policy: pod.PullAlways, local: true, registry: true, wantPulls: 1, want: []string{"Pulling", "Pulled"}},
		{name: "never-missing", image: "busybox:1", policy: pod.PullNever, want: []string{"ErrImageNeverPull"}, waiting: pod.ReasonErrImageNeverPull},
		{name: "pull-fails", image: "busybox:1", wantPulls: 2, want: []string{"Pulling", "Failed", "BackOff", "Pulling", "Failed"}, waiting: pod.ReasonImagePullBackOff},
		{name: "invalid-name", image: "busy box!", want: []string{"InspectFailed"}, waiting: pod.ReasonInvalidImageName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &layerStore{images: map[string]pod.Image{}, registry: map[string]pod.Image{}}
			if tc.local {
				store.images[tc.image] = img
			}
			if tc.registry {
				store.registry[tc.image] = img
			}
			p, rec, _ := startPod(t, "pull-"+tc.name, pod.Spec{
				RestartPolicy: pod.RestartNever,
				Containers:    []pod.Container{{Name: "c", Image: tc.image, ImagePullPolicy: tc.policy, Command: []string{"echo", "ok"}}},
			}, pod.WithStateDir(t.TempDir()), pod.WithImages(store), pod.WithBackoff(pod.Backoff{Initial: 50 * time.Millisecond, Max: 50 * time.Millisecond}))
			imageEvent := func(ev pod.Event) bool {
				switch ev.Reason {
				case pod.EventPulling, pod.EventPulled, pod.EventFailed, pod.EventBackOff, pod.EventErrImageNeverPull, pod.EventInspectFailed:
					return true
				}
				return false
			}
			if tc.waiting == "" {
				rec.until("exited", isReason(pod.EventExited, "c"))
			} else {
				n := 0
				rec.until("image events", func(ev pod.Event) bool {
					if imageEvent(ev) {
						n++
					}
					return n == len(tc.want)
				})
				require.Eventually(t, func() bool {
					w := p.Status().Containers[0].State.Waiting
					return w != nil && w.Reason == tc.waiting
				}, 5*time.Second, 10*time.Millisecond, "waiting reason: %+v", p.Status().Containers[0].State)
			}
			var got []string
			for _, ev := range rec.events {
				if imageEvent(ev) {
					got = append(got, ev.Reason)
				}
			}
			require.GreaterOrEqual(t, len(got), len(tc.want), "%s", rec)
			assert.Equal(t, tc.want, got[:len(tc.want)], "%s", rec)
			pulls, _ := store.counts()
			if tc.waiting == "" {
				assert.Equal(t, tc.wantPulls, pulls)
			} else {
				assert.GreaterOrEqual(t, pulls, tc.wantPulls)
			}
		})
	}
}

func TestImageValidation(t *testing.T) {
	store := &layerStore{}
	for _, tc := range []struct {
		name string
		c    pod.Container
		opts []pod.Option
		want string
	}{
		{"no-command-no-image", pod.Container{Name: "c"}, nil, `command: invalid value "[]": required: the container has no image`},
		{"policy", pod.Container{Name: "c", Image: "busybox:1", ImagePullPolicy: "Sometimes"}, []pod.Option{pod.WithImages(store)}, `imagePullPolicy: invalid value "Sometimes"`},
		{"policy-without-image", pod.Container{Name: "c", Command: []string{"true"}, ImagePullPolicy: pod.PullNever}, nil, `imagePullPolicy: invalid value "Never": set without an image`},
		{"rootfs-and-image", pod.Container{Name: "c", Image: "busybox:1", RootFS: "/"}, []pod.Option{pod.WithImages(store)}, `rootFS: invalid value "/": must not be set with an image`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pod.New("v", pod.Spec{Containers: []pod.Container{tc.c}}, tc.opts...)
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	p, err := pod.New("v", pod.Spec{Containers: []pod.Container{{Name: "c", Image: "busybox:1"}}})
	require.NoError(t, err, "an image needs no command")
	requireRoot(t)
	err = p.Start(context.Background())
	require.ErrorIs(t, err, pod.ErrNoImageStore)
	require.ErrorIs(t, p.Wait(), pod.ErrNoImageStore)
}

func TestDefaultPullPolicy(t *testing.T) {
	for image, want := range map[string]pod.PullPolicy{
		"busybox":                      pod.PullAlways,
		"busybox:latest":               pod.PullAlways,
		"busybox:1.36":                 pod.PullIfNotPresent,
		"localhost:5000/app":           pod.PullAlways,
		"localhost:5000/app:v2":        pod.PullIfNotPresent,
		"busybox@sha256:" + "ab" + "c": pod.PullIfNotPresent,
	} {
		assert.Equal(t, want, pod.DefaultPullPolicy(image), image)
	}
}

func TestImageStopSignal(t *testing.T) {
	img := busyboxImage(t)
	img.Config.StopSignal = "SIGUSR1"
	store := &layerStore{images: map[string]pod.Image{"busybox:stop": img}}
	trap := `trap 'echo got $0; exit 0' USR1; trap 'echo TERM; exit 0' TERM; echo up; while :; do sleep 0.05; done`
	p, rec, stop := startPod(t, "image-stop", pod.Spec{
		Containers: []pod.Container{
			{Name: "image", Image: "busybox:stop", Command: []string{"sh", "-c", trap, "USR1"}},
			{Name: "own", Image: "busybox:stop", Command: []string{"sh", "-c", trap, "INT"}, StopSignal: syscall.SIGTERM},
		},
	}, pod.WithStateDir(t.TempDir()), pod.WithImages(store))
	waitLogs(t, p, "image", 1)
	waitLogs(t, p, "own", 1)
	stop()
	_ = p.Wait() // a cancelled context is how the pod was stopped
	_ = rec
	assert.Equal(t, []string{"up", "got USR1"}, logText(t, p, "image", pod.LogOptions{}), "the image's STOPSIGNAL did not stop it")
	assert.Equal(t, []string{"up", "TERM"}, logText(t, p, "own", pod.LogOptions{}), "the spec's stop signal did not win")
}

func TestImageRunAsNonRoot(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name, user string
		runAs      *int64
		want       string // the start error, or "" when it runs
	}{
		{"root-by-default", "", nil, "container has runAsNonRoot and image will run as root"},
		{"root-by-uid", "0:0", nil, "container has runAsNonRoot and image will run as root"},
		{"name", "app", nil, "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root"},
		{"uid", "1000", nil, ""},
		{"run-as-user", "", new(int64(1000)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := busyboxImage(t)
			img.Config.User = tc.user
			store := &layerStore{images: map[string]pod.Image{"busybox:1": img}}
			p, rec, _ := startPod(t, "nonroot-"+tc.name, pod.Spec{
				RestartPolicy: pod.RestartNever,
				Containers: []pod.Container{{Name: "c", Image: "busybox:1", Command: []string{"id", "-u"},
					SecurityContext: &pod.SecurityContext{RunAsNonRoot: &yes, RunAsUser: tc.runAs}}},
			}, pod.WithStateDir(t.TempDir()), pod.WithImages(store))
			if tc.want == "" {
				rec.until("exited", isReason(pod.EventExited, "c"))
				assert.Equal(t, []string{"1000"}, logText(t, p, "c", pod.LogOptions{}))
				return
			}
			ev := rec.until("failed", isReason(pod.EventFailed, "c"))
			assert.Contains(t, ev.Message, tc.want)
		})
	}
}
