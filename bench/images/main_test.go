package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestShort runs the benchmark on the tiny generated image, one round,
// to keep it working; podman's variants run when podman is installed.
func TestShort(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "busybox")
	testenv.RequireGo(t) // it builds cmd/podkit
	_, err := exec.LookPath("podman")
	withPodman := err == nil
	var out, logw bytes.Buffer
	o := options{rounds: 1, pods: 1, podman: withPodman, tmp: t.TempDir()}
	if err := run(context.Background(), o, &out, &logw); err != nil {
		t.Fatalf("%v\n%s", err, logw.String())
	}
	want := []string{"| podkit image load -q (command) |", "| image.Store.Load (in-process) |",
		"| podkit pod from the image |", "| podkit pod running the host's program |",
		"1 after it, 1 after", "unchanged since the first pod: true", "| + image 2:"}
	if withPodman {
		want = append(want, "| podman load |", "| podman run --rm |")
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/end\04`: `/end\04`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
