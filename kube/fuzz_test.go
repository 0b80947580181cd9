package kube_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/kube"
)

// FuzzLoad feeds Load arbitrary input, seeded with real-world manifests: it
// never panics, and a manifest it accepts either exports to one that loads
// back to the same spec, or is refused by Export with an error.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "testdata/*.json"} {
		files, err := filepath.Glob(glob)
		require.NoError(f, err)
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(f, err)
			f.Add(data)
		}
	}
	f.Add([]byte("apiVersion: v1\nkind: Deployment\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"command\":[\"true\"]},{\"name\":\"a\",\"command\":[\"true\"]}]}}"))
	f.Add([]byte("\x00\x01\x02binary"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := kube.Load(data)
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		kp, err := kube.Export(m.Name, m.Spec, kube.ExportOptions{})
		if err != nil {
			return
		}
		out, err := kube.Marshal(kp)
		require.NoError(t, err)
		again, err := kube.Load(out)
		require.NoError(t, err, "an exported manifest does not load back:\n%s", out)
		require.Equal(t, m.Spec, again.Spec)
	})
}
