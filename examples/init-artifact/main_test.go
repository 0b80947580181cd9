package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/examples/internal/exampletest"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestInitArtifact(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "busybox")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, "site.tar.gz", &out))
	got := out.String()
	assert.Contains(t, got, "Exited  init  Container unpack exited with code 0")
	assert.Regexp(t, `GET http://127\.0\.0\.1:\d+/ -> <h1>Hello from an init container</h1>`, got)
	assert.Contains(t, got, "pod init-artifact finished")
}

func TestManifest(t *testing.T) {
	// The manifest names the archive from the repository's root.
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(filepath.Join("..", "..")))
	defer os.Chdir(wd)
	exampletest.CheckManifest(t, filepath.Join("examples", "init-artifact"))
	testenv.RequireRoot(t)
	m := exampletest.Load(t, filepath.Join("examples", "init-artifact"))
	m.Spec.Ports[0].HostPort = 0 // any free port, for the test
	p, err := pod.New(m.Name, m.Spec, pod.WithImages(exampletest.Images(t)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var events bytes.Buffer
	sub := p.Subscribe(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub {
			fmt.Fprintln(&events, ev.Reason, ev.Container, ev.Message)
		}
	}()
	require.NoError(t, p.Start(ctx))
	defer func() {
		cancel()
		_ = p.Wait()
		<-done
		if t.Failed() {
			t.Logf("events:\n%s", events.String())
			logs, _ := p.Logs("web", pod.LogOptions{})
			for _, l := range logs {
				t.Logf("web | %s", l.Text)
			}
		}
	}()
	require.Eventually(t, func() bool {
		addrs := p.PublishedAddrs()
		if len(addrs) != 1 {
			return false
		}
		resp, err := http.Get("http://" + addrs[0] + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
}
