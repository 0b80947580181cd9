package pod_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

func TestVolumeDirOutsideAPod(t *testing.T) {
	ctx := context.Background()
	t.Run("default", func(t *testing.T) {
		t.Setenv(pod.VolumesDirEnv, "")
		dir, err := pod.VolumeDir(ctx, "data")
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(pod.ExportVolumesDir, "data"), dir)
	})
	t.Run("environment", func(t *testing.T) {
		vols := t.TempDir()
		t.Setenv(pod.VolumesDirEnv, vols)
		dir, err := pod.VolumeDir(ctx, "data")
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(vols, "data"), dir)
	})
	for _, bad := range []struct{ name, err string }{
		{"", "pod: volume: empty name"},
		{"..", `pod: volume "..": not a volume name`},
		{".", `pod: volume ".": not a volume name`},
		{"a/b", `pod: volume "a/b": not a volume name`},
	} {
		t.Run("bad "+bad.name, func(t *testing.T) {
			_, err := pod.VolumeDir(ctx, bad.name)
			assert.EqualError(t, err, bad.err)
		})
	}
}

func TestVolumeDirInsideAPod(t *testing.T) {
	// The environment does not matter inside a pod.
	t.Setenv(pod.VolumesDirEnv, t.TempDir())
	type result struct {
		dir        string
		err, noVol error
	}
	got := make(chan result, 1)
	p := podtest.Start(t, "volumedir", pod.Spec{
		Volumes: []pod.Volume{{Name: "data", EmptyDir: &pod.EmptyDirVolume{}}},
		Containers: []pod.Container{{Name: "c", Func: func(ctx context.Context) error {
			var r result
			r.dir, r.err = pod.VolumeDir(ctx, "data")
			_, r.noVol = pod.VolumeDir(ctx, "nope")
			got <- r
			<-ctx.Done()
			return nil
		}}},
	})
	var r result
	select {
	case r = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the container did not run")
	}
	require.NoError(t, r.err)
	want, err := p.VolumePath("data")
	require.NoError(t, err)
	assert.Equal(t, want, r.dir)
	assert.EqualError(t, r.noVol, `pod "volumedir": no volume "nope"`)
}
