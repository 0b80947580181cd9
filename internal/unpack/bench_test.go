package unpack_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podkit/podkit/internal/unpack"
)

// BenchmarkLayer unpacks a layer of 2000 small files in 40 directories
// and four files of 8 MiB; its MB/s counts the tar stream's bytes.
func BenchmarkLayer(b *testing.B) {
	requireRoot(b)
	var entries []entry
	for d := range 40 {
		entries = append(entries, dirEntry(fmt.Sprintf("usr/share/d%02d/", d)))
		for i := range 50 {
			entries = append(entries, file(fmt.Sprintf("usr/share/d%02d/f%02d", d, i), strings.Repeat("x", 100+(d*50+i)*7%8000)))
		}
	}
	for i := range 4 {
		entries = append(entries, file(fmt.Sprintf("usr/lib/big%d", i), strings.Repeat("y", 8<<20)))
	}
	tarball := layer(b, entries...)
	top := b.TempDir()
	b.SetBytes(int64(len(tarball)))
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(top, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := unpack.Layer(context.Background(), bytes.NewReader(tarball), dir); err != nil {
			b.Fatal(err)
		}
	}
}
