package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod/podtest"
)

// listImages runs podkit image ls -o json.
func listImages(t *testing.T, k *podkit) []image.Summary {
	t.Helper()
	stdout, stderr, code := k.run("image", "ls", "-o", "json")
	require.Equal(t, 0, code, stderr)
	var list []image.Summary
	require.NoError(t, json.Unmarshal([]byte(stdout), &list), stdout)
	return list
}

// names returns every name of every image in list.
func names(list []image.Summary) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Names...)
	}
	return out
}

// The store's whole life through the command: load from both forms,
// list, inspect, tag, remove, prune; and the errors name what is wrong.
func TestImageCommands(t *testing.T) {
	k := newPodkit(t)
	busybox := "index.docker.io/library/" + busyboxRef

	// An OCI layout directory loads as a docker archive does (newPodkit
	// loaded one). The archive's manifest has Docker's media types, the
	// layout's OCI's: two images with one configuration, so one ID.
	ociDir := t.TempDir()
	imagetest.WriteLayout(t, ociDir, map[string]any{"example.com/layout:1": imagetest.BusyboxApplets(t)})
	stdout, stderr, code := k.run("image", "load", "-i", ociDir)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^Loaded image example.com/layout:1 sha256:[0-9a-f]{64}\n$`, stdout)
	assert.Empty(t, stderr, "progress on standard error that is not a terminal")

	list := listImages(t, k)
	require.Len(t, list, 2)
	assert.Equal(t, []string{busybox}, list[0].Names)
	assert.Equal(t, []string{"example.com/layout:1"}, list[1].Names)
	assert.Equal(t, list[0].ID, list[1].ID)
	assert.NotEqual(t, list[0].Digest, list[1].Digest)
	assert.Positive(t, list[0].Size)
	id := list[0].ID

	stdout, _, code = k.run("image", "ls")
	require.Equal(t, 0, code)
	short := strings.TrimPrefix(id, "sha256:")[:12]
	assert.Regexp(t, `^NAME\s+IMAGE ID\s+CREATED\s+SIZE\n`, stdout)
	assert.Regexp(t, `(?m)^`+busybox+`\s+`+short+`\s+-\s+\d`, stdout, "a zero created time shows as -")

	stdout, stderr, code = k.run("image", "inspect", busyboxRef)
	require.Equal(t, 0, code, stderr)
	var d image.Details
	require.NoError(t, json.Unmarshal([]byte(stdout), &d))
	assert.Equal(t, id, d.ID)
	require.Len(t, d.Layers, 1)
	var cfg v1.ConfigFile
	require.NoError(t, json.Unmarshal(d.Config, &cfg))
	assert.Equal(t, []string{"sh"}, cfg.Config.Cmd)

	stdout, stderr, code = k.run("image", "tag", busyboxRef, "example.com/mine:2")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, names(listImages(t, k)), "example.com/mine:2")

	// rm removes names; prune then removes what no name holds.
	stdout, stderr, code = k.run("image", "rm", busyboxRef, "example.com/layout:1", "example.com/nope:1")
	assert.Equal(t, 1, code)
	assert.Equal(t, "Removed "+busyboxRef+"\nRemoved example.com/layout:1\n", stdout)
	assert.Contains(t, stderr, "example.com/nope:1", "the error names the ref")
	assert.Equal(t, []string{"example.com/mine:2"}, names(listImages(t, k)))

	// rm already removed the blobs of the image it left without a name.
	stdout, stderr, code = k.run("image", "prune")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "Removed 0 untagged images, 0 blobs and 0 unpacked layers: 0 B freed\n", stdout)
	_, stderr, code = k.run("image", "rm", "example.com/mine:2")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, listImages(t, k))

	// An image loaded without a name is prune's to remove.
	untagged := t.TempDir()
	p, err := layout.Write(untagged, empty.Index)
	require.NoError(t, err)
	require.NoError(t, p.AppendImage(imagetest.Image(t, runtime.GOARCH, v1.Config{Cmd: []string{"x"}},
		imagetest.Layer(t, imagetest.File{Name: "x", Content: []byte("x")}))))
	stdout, stderr, code = k.run("image", "load", "-i", untagged)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^Loaded image \(untagged\) sha256:[0-9a-f]{64}\n$`, stdout)
	stdout, _, code = k.run("image", "ls")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^<none>\s+[0-9a-f]{12}\s`, stdout)
	stdout, stderr, code = k.run("image", "prune", "-o", "json")
	require.Equal(t, 0, code, stderr)
	var r image.PruneReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
	assert.Len(t, r.Images, 1)
	assert.Equal(t, 3, r.Blobs, "manifest, configuration and layer")
	assert.Positive(t, r.Freed)
	assert.Empty(t, listImages(t, k))
	stdout, _, code = k.run("image", "ls")
	require.Equal(t, 0, code)
	assert.Equal(t, "NAME   IMAGE ID   CREATED   SIZE\n", stdout)

	// Errors name the file, the ref, the flag.
	missing := filepath.Join(t.TempDir(), "missing.tar")
	_, stderr, code = k.run("image", "load", "-i", missing)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, missing)
	assert.Contains(t, stderr, "no such file or directory")
	for _, args := range [][]string{{"inspect", "example.com/nope:1"}, {"tag", "example.com/nope:1", "x:1"}} {
		_, stderr, code = k.run(append([]string{"image"}, args...)...)
		assert.Equal(t, 1, code, "%q", args)
		assert.Contains(t, stderr, "example.com/nope:1", "%q", args)
	}
	_, stderr, code = k.run("image", "ls", "-o", "yaml")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, `--output: "yaml": must be text or json`)
	_, stderr, code = k.run("image", "load")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `"input" not set`)
}

// An imported root filesystem runs with the configuration given at import:
// the manifest names no command, so the image's entrypoint and command
// run, in its working directory, as its user, with its environment.
func TestImageImportRuns(t *testing.T) {
	k := newPodkit(t)
	bb, err := exec.LookPath("busybox")
	require.NoError(t, err)
	content, err := os.ReadFile(bb)
	require.NoError(t, err)
	files := []imagetest.File{{Name: "bin/busybox", Content: content, Mode: 0o755}, {Name: "srv/.keep"}}
	for _, applet := range []string{"sh", "id", "pwd"} {
		files = append(files, imagetest.File{Name: "bin/" + applet, Link: "busybox"})
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	require.NoError(t, os.WriteFile(rootfs, imagetest.Tar(t, files...), 0o644))

	stdout, stderr, code := k.run("image", "import", rootfs, "--ref", "example.com/hello:1",
		"--entrypoint", "/bin/sh", "--entrypoint", "-c", "--cmd", `echo "$GREETING from $(pwd) as $(id -u):$(id -g)"`,
		"--env", "GREETING=hello", "--env", "PATH=/bin", "--workdir", "/srv", "--user", "1000:1001")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^Imported image example.com/hello:1 sha256:[0-9a-f]{64}\n$`, stdout)
	// The same tarball and settings give the same image.
	again, _, code := k.run("image", "import", rootfs, "--ref", "example.com/hello:1",
		"--entrypoint", "/bin/sh", "--entrypoint", "-c", "--cmd", `echo "$GREETING from $(pwd) as $(id -u):$(id -g)"`,
		"--env", "GREETING=hello", "--env", "PATH=/bin", "--workdir", "/srv", "--user", "1000:1001")
	require.Equal(t, 0, code)
	assert.Equal(t, stdout, again)

	file := writeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: imported}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: example.com/hello:1
`)
	stdout, stderr, code = k.run("run", "-f", file, "--events", "none")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "app | hello from /srv as 1000:1001\n", stdout)

	_, stderr, code = k.run("image", "import", rootfs)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `"ref" not set`)
}

// podkit image pull fetches from a registry on localhost in plain HTTP,
// and a pod runs what it pulled.
func TestImagePull(t *testing.T) {
	k := newPodkit(t)
	reg := imagetest.StartRegistry(t, imagetest.RegistryOptions{})
	ref := reg.Ref("tools/busybox:1")
	tag, err := name.NewTag(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, imagetest.BusyboxApplets(t), remote.WithTransport(reg.Transport)))

	stdout, stderr, code := k.run("image", "pull", ref)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^Pulled image `+ref+` sha256:[0-9a-f]{64}\n$`, stdout)
	assert.Contains(t, names(listImages(t, k)), ref)

	// Always pulls again: Pulling, then Pulled, then the container runs.
	file := writeManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: pulled}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: `+ref+`
    imagePullPolicy: Always
    command: ["sh", "-c", "echo pulled"]
`)
	stdout, stderr, code = k.run("run", "-f", file, "--events", "json")
	require.Equal(t, 0, code, stderr)
	var reasons []string
	for _, ev := range decodeEvents(t, stdout) {
		if r := ev["reason"].(string); ev["container"] == "app" && r != "Ready" {
			reasons = append(reasons, r)
		}
	}
	assert.Equal(t, []string{"Pulling", "Pulled", "Started", "Exited"}, reasons)
	assert.Contains(t, stderr, "app | pulled\n")

	_, stderr, code = k.run("image", "pull", "-q", reg.Ref("tools/absent:1"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "tools/absent:1")
}

// decodeEvents parses podkit run --events json's output.
func decodeEvents(t *testing.T, out string) []map[string]any {
	t.Helper()
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "{") {
			continue
		}
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "not JSON: %s", sc.Text())
		events = append(events, ev)
	}
	return events
}

// A missing image waits as the kubelet's would: ErrImageNeverPull under
// Never, ErrImagePull then ImagePullBackOff when the registry cannot be
// reached; the pod stays Pending until podkit stop ends it.
func TestRunMissingImage(t *testing.T) {
	for _, tt := range []struct {
		name, policy string
		image        func(t *testing.T) string
		events       []string // reason: message, in order
		waiting      string
	}{
		{
			name: "never", policy: "Never",
			image:   func(*testing.T) string { return "example.com/absent:1" },
			events:  []string{`ErrImageNeverPull: Container image "example.com/absent:1" is not present with pull policy of Never`},
			waiting: "ErrImageNeverPull",
		},
		{
			name: "unreachable registry",
			// Nothing listens there: the pull fails at once.
			image:   func(t *testing.T) string { return testenv.FreeAddr(t) + "/app:1" },
			events:  []string{"Pulling: Pulling image", "Failed: Failed to pull image", "BackOff: Back-off pulling image"},
			waiting: "ImagePullBackOff",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := newPodkit(t)
			ref := tt.image(t)
			manifest := "apiVersion: v1\nkind: Pod\nmetadata: {name: missing}\nspec:\n  containers:\n  - name: app\n    image: " + ref + "\n    command: [\"true\"]\n"
			if tt.policy != "" {
				manifest += "    imagePullPolicy: " + tt.policy + "\n"
			}
			cmd := k.command(context.Background(), "run", "-f", writeManifest(t, manifest), "--events", "json")
			out := &podtest.Buffer{}
			cmd.Stdout, cmd.Stderr = out, out
			require.NoError(t, cmd.Start())
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			})
			var status string
			require.Eventually(t, func() bool {
				status, _, _ = k.run("status", "missing")
				return strings.Contains(status, "Waiting ("+tt.waiting+")")
			}, 20*time.Second, 50*time.Millisecond, "status:\n%s\nevents:\n%s", status, out.String())
			assert.Contains(t, status, "Phase:     Pending")

			var got []string
			for _, ev := range decodeEvents(t, out.String()) {
				if ev["container"] == "app" {
					got = append(got, ev["reason"].(string)+": "+ev["message"].(string))
				}
			}
			require.GreaterOrEqual(t, len(got), len(tt.events), "%q", got)
			for i, want := range tt.events {
				assert.True(t, strings.HasPrefix(got[i], want), "event %d: %q, want %q...", i, got[i], want)
				assert.Contains(t, got[i], ref)
			}
			_, stderr, code := k.run("stop", "missing")
			require.Equal(t, 0, code, stderr)
			err := cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, 143, exit.ExitCode())
		})
	}
}

// A pod that runs no image needs no store: podkit run does not open one.
func TestRunWithoutImagesNeedsNoStore(t *testing.T) {
	k := newPodkit(t)
	k.imagesDir = filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(k.imagesDir, nil, 0o600))
	file := writeManifest(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: host}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: app\n    command: [\"echo\", \"host\"]\n")
	stdout, stderr, code := k.run("run", "-f", file, "--events", "none")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "app | host\n", stdout)

	_, stderr, code = k.run("run", "-f", "testdata/fail.yaml", "--events", "none")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--images-dir")
}
