package kube_test

import (
	"errors"
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
	seed(f, "testdata/*.yaml", "testdata/*.json")
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

// FuzzLoadFile feeds LoadFile arbitrary input, seeded with the
// multi-document files: it never panics, an error is an *Error with at least
// one problem that fails the load (or a plain error wrapping a sentinel),
// and a File it returns has a mapped template for each workload.
func FuzzLoadFile(f *testing.F) {
	seed(f, "testdata/files/*.yaml", "testdata/*.yaml", "testdata/*.json")
	f.Add([]byte("---\n---\nkind: Deployment\n---\n[1, 2]\n---\n{a: [\n"))
	f.Add([]byte("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: '@every 1h', jobTemplate: 7}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: 5}\nstringData: {a: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := kube.LoadFile(data, kube.LoadOptions{})
		if err != nil {
			var kerr *kube.Error
			require.ErrorAs(t, err, &kerr)
			require.True(t, errors.Is(err, kube.ErrInvalid) || errors.Is(err, kube.ErrUnsupported), err.Error())
			return
		}
		for _, w := range file.Workloads {
			require.NotNil(t, w.Template, "%s", w)
			require.NotEmpty(t, w.Template.Spec.Containers, "%s", w)
		}
		for _, p := range file.Problems {
			require.Equal(t, kube.ProblemWarning, p.Kind)
		}
	})
}

// seed adds the files matching globs to the corpus.
func seed(f *testing.F, globs ...string) {
	for _, glob := range globs {
		files, err := filepath.Glob(glob)
		require.NoError(f, err)
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(f, err)
			f.Add(data)
		}
	}
}
