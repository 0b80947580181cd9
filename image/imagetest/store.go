package imagetest

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/internal/testenv"
)

// BusyboxPath is the PATH of BusyboxApplets' image, that of Docker Hub's
// busybox image.
const BusyboxPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BusyboxApplets returns a one-layer image for linux on runtime.GOARCH
// that runs commands as Docker Hub's busybox image does: /bin/busybox
// (the host's static busybox) with a symbolic link in /bin for each of
// its applets (sh, sleep, cat, wget, httpd, nc, ...), BusyboxPath and Cmd
// ["sh"]. Busybox has /bin/sh only, and its shell runs no applet that has
// no link. It needs the busybox command (package busybox-static); without
// it the test is skipped, or fails under CI=true.
func BusyboxApplets(t testing.TB) v1.Image {
	t.Helper()
	testenv.RequireTool(t, "busybox")
	p, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	out, err := exec.Command(p, "--list").Output()
	if err != nil {
		t.Fatalf("imagetest: busybox --list: %v", err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	files := []File{{Name: "bin/busybox", Content: b, Mode: 0o755}}
	applets := strings.Fields(string(out))
	sort.Strings(applets)
	for _, a := range applets {
		if a != "busybox" && !strings.Contains(a, "/") {
			files = append(files, File{Name: "bin/" + a, Link: "busybox"})
		}
	}
	return Image(t, runtime.GOARCH, v1.Config{Cmd: []string{"sh"}, Env: []string{BusyboxPath}}, Layer(t, files...))
}

// Store opens an image store in a new temporary directory and loads
// images into it, each tagged with its key, a reference such as
// "busybox:1.36" (stored as docker.io/library/busybox:1.36). The
// directory is removed when the test ends; a pod that runs the store's
// images must have stopped by then.
func Store(t testing.TB, images map[string]v1.Image) *image.Store {
	t.Helper()
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	layout := map[string]any{}
	for ref, img := range images {
		layout[ref] = img
	}
	dir := t.TempDir()
	WriteLayout(t, dir, layout)
	if _, err := s.Load(context.Background(), dir); err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	return s
}
