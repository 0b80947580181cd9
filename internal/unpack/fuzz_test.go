package unpack_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/unpack"
)

// FuzzLayer feeds arbitrary bytes to Layer as a tar stream: it must not
// panic, and nothing next to the layer's directory may change. The seeds
// in testdata/fuzz/FuzzLayer are a small valid layer, one with ../ names
// and one that writes through a symbolic link to the root.
func FuzzLayer(f *testing.F) {
	requireRoot(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		before := s.outside(t)
		_, _ = unpack.Layer(context.Background(), bytes.NewReader(data), s.dir)
		require.Equal(t, before, s.outside(t))
	})
}
