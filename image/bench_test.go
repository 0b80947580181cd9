package image_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
)

// BenchmarkLoad loads a generated image of 4 layers from a docker-archive
// (uncompressed layers, as docker save writes) and from an OCI archive.
// PODKIT_BENCH_LOAD_MB sets the image's size (default 32).
func BenchmarkLoad(b *testing.B) {
	mb := 32
	if v, err := strconv.Atoi(os.Getenv("PODKIT_BENCH_LOAD_MB")); err == nil && v > 0 {
		mb = v
	}
	const layers = 4
	img := imagetest.Generated(b, layers, int64(mb)<<20/layers)
	dir := b.TempDir()
	docker := filepath.Join(dir, "docker.tar")
	imagetest.WriteDockerArchive(b, docker, map[string]v1.Image{"example.com/gen:1": img})
	oci := filepath.Join(dir, "oci.tar")
	imagetest.WriteOCIArchive(b, oci, map[string]any{"example.com/gen:1": img})
	for _, bc := range []struct{ name, path string }{{"docker-archive", docker}, {"oci-archive", oci}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(mb) << 20)
			for b.Loop() {
				b.StopTimer()
				s, err := image.Open(filepath.Join(b.TempDir(), "images"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := s.Load(context.Background(), bc.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
