// Package testenv holds the prerequisite checks podkit's tests share: a test
// that needs root or a tool skips without it on a developer's machine, but
// fails under CI=true, where the test command provides everything.
package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
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

// PrebuiltEnv names the environment variable that points to a directory of
// programs built on another machine: scripts/vmtest sets it in its guest,
// which runs test binaries built on the host and has no Go toolchain.
const PrebuiltEnv = "PODKIT_TEST_PREBUILT"

// Prebuilt returns the path of the named program in the directory
// $PODKIT_TEST_PREBUILT, or "" when the variable is unset or the program is
// not there; the caller then builds the program itself.
func Prebuilt(name string) string {
	dir := os.Getenv(PrebuiltEnv)
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// RequireGo skips t unless the go command is on PATH. Where the test
// binaries were built elsewhere ($PODKIT_TEST_PREBUILT set, as in the guest
// of scripts/vmtest) it skips even under CI=true; otherwise it behaves as
// RequireTool(t, "go").
func RequireGo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("go"); err == nil {
		return
	}
	if os.Getenv(PrebuiltEnv) != "" {
		t.Skip("needs the Go toolchain, absent where test binaries were built elsewhere (" + PrebuiltEnv + ")")
	}
	RequireTool(t, "go")
}

// ServeTCP listens on a free port of 127.0.0.1 and runs serve for each
// connection, on a goroutine of its own, closing the connection when serve
// returns. It returns the listener's address. When t ends, the listener is
// closed and ServeTCP's cleanup waits for every serve to return, so serve
// must end once its peer closes the connection.
func ServeTCP(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// Run runs run on a goroutine of its own, with a context that is cancelled
// when t ends; t's cleanup then waits for run to return and fails t unless
// it returned nil. Run is for the Run method of a member or a server under
// test.
func Run(t testing.TB, run func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("testenv: run: %v", err)
		}
	})
}

// WaitListening waits until addr accepts TCP connections, and fails t if it
// does not within 10 seconds.
func WaitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s does not accept connections: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreeAddr returns an address of 127.0.0.1 whose port was free a moment
// ago, for a server under test to listen on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}
