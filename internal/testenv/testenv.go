// Package testenv holds the prerequisite checks podkit's tests share: a test
// that needs root or a tool skips without it on a developer's machine, but
// fails under CI=true, where the test command provides everything.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireRoot skips t unless the process runs as root; under CI=true it
// fails t instead.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root; CI runs as root")
	}
	t.Skip("needs root")
}

// RequireTool skips t unless the named command is on PATH; under CI=true it
// fails t instead.
func RequireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing; the test command installs it", name)
	}
	t.Skipf("%s not installed", name)
}
