package podkit_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
)

const module = "github.com/podkit/podkit"

// patterns are the pattern packages: each may import pod and internal/,
// never another pattern. A pattern's subpackages (adapter/logs,
// adapter/internal/...) belong to it.
var patterns = []string{"initcontainer", "sidecar", "ambassador", "adapter"}

// listedPackage is what layering reads of a package from go list -json.
type listedPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// The layers the code keeps: internal/ is plumbing below pod; pattern
// packages build on pod and not on each other; pod knows roles, not
// patterns, the image store, manifests, timelines, its API or the command.
func TestLayering(t *testing.T) {
	testenv.RequireGo(t)
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("go list: %v\n%s", err, exit.Stderr)
	}
	require.NoError(t, err)
	pkgs, err := decodePackages(strings.NewReader(string(out)))
	require.NoError(t, err)
	require.NotEmpty(t, pkgs)
	for _, v := range layeringViolations(pkgs) {
		t.Error(v)
	}
}

// The rules catch each kind of import they forbid, and let the allowed
// ones through.
func TestLayeringViolations(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
		test     bool
		want     string // "" when the import is allowed
	}{
		{"internal/proxy", "pod", false, "internal/proxy imports pod: internal/ is plumbing below pod"},
		{"internal/proxy", "pod/podtest", true, "internal/proxy imports pod/podtest (in a test): internal/ is plumbing below pod"},
		{"internal/watch", "sidecar", false, "internal/watch imports sidecar: internal/ is plumbing below pod"},
		{"internal/tail", "adapter/logs", false, "internal/tail imports adapter/logs: internal/ is plumbing below pod"},
		{"internal/tail", "kube", false, "internal/tail imports kube: internal/ is plumbing below pod"},
		{"internal/tail", "timeline", false, "internal/tail imports timeline: internal/ is plumbing below pod"},
		{"internal/tail", "podapi", false, "internal/tail imports podapi: internal/ is plumbing below pod"},
		{"internal/tail", "cmd/podkit/members", false, "internal/tail imports cmd/podkit/members: internal/ is plumbing below pod"},
		{"internal/tail", "internal/watch", false, ""},
		{"sidecar", "adapter", false, "sidecar imports adapter: a pattern package imports another pattern"},
		{"adapter/logs", "initcontainer", false, "adapter/logs imports initcontainer: a pattern package imports another pattern"},
		{"ambassador", "sidecar", true, "ambassador imports sidecar (in a test): a pattern package imports another pattern"},
		{"adapter/logs", "adapter/internal/parse", false, ""},
		{"adapter", "adapter/logs", false, ""},
		{"sidecar", "pod", false, ""},
		{"sidecar", "internal/tail", false, ""},
		{"pod", "adapter", false, "pod imports adapter: pod imports no pattern, image, kube, timeline, podapi or cmd"},
		{"pod", "kube", true, "pod imports kube (in a test): pod imports no pattern, image, kube, timeline, podapi or cmd"},
		{"pod", "timeline", false, "pod imports timeline: pod imports no pattern, image, kube, timeline, podapi or cmd"},
		{"pod", "podapi", false, "pod imports podapi: pod imports no pattern, image, kube, timeline, podapi or cmd"},
		{"pod", "cmd/podkit", false, "pod imports cmd/podkit: pod imports no pattern, image, kube, timeline, podapi or cmd"},
		{"pod", "image", false, "pod imports image: pod imports no pattern, image, kube, timeline, podapi or cmd"},
		{"internal/unpack", "image/imagetest", true, "internal/unpack imports image/imagetest (in a test): internal/ is plumbing below pod"},
		{"image", "pod", false, ""},
		{"image", "internal/unpack", false, ""},
		{"pod/podtest", "image/imagetest", false, ""},
		{"pod", "internal/shim", false, ""},
		{"pod/podtest", "sidecar", false, ""},
		{"podapi", "pod", false, ""},
		{"cmd/podkit", "sidecar", false, ""},
		{"internal/tail", "github.com/stretchr/testify/require", true, ""},
		// Names that only start like a layer's are not that layer.
		{"internal/proxy", "podkitish", false, ""},
		{"sidecars", "adapter", false, ""},
	} {
		t.Run(tc.pkg+" "+tc.imp, func(t *testing.T) {
			p := listedPackage{ImportPath: full(tc.pkg)}
			if tc.test {
				p.XTestImports = []string{full(tc.imp)}
			} else {
				p.Imports = []string{full(tc.imp)}
			}
			got := layeringViolations([]listedPackage{p})
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, []string{tc.want}, got)
		})
	}
}

// full returns the import path of the module's package at path rel; other
// paths (with a dot in their first element) are left as they are.
func full(rel string) string {
	if first, _, _ := strings.Cut(rel, "/"); strings.Contains(first, ".") {
		return rel
	}
	return module + "/" + rel
}

// decodePackages reads the stream of JSON objects go list -json writes.
func decodePackages(r io.Reader) ([]listedPackage, error) {
	var pkgs []listedPackage
	dec := json.NewDecoder(r)
	for {
		var p listedPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("go list -json: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// layeringViolations returns one message per import that breaks a layer.
// Test imports count as well: a test of internal/ that needs a pod belongs
// above it.
func layeringViolations(pkgs []listedPackage) []string {
	var out []string
	for _, p := range pkgs {
		pkg, ok := relative(p.ImportPath)
		if !ok {
			continue
		}
		for _, list := range []struct {
			imports []string
			where   string
		}{{p.Imports, ""}, {p.TestImports, " (in a test)"}, {p.XTestImports, " (in a test)"}} {
			for _, imp := range list.imports {
				dep, ok := relative(imp)
				if !ok || dep == pkg {
					continue
				}
				if why := forbidden(pkg, dep); why != "" {
					out = append(out, fmt.Sprintf("%s imports %s%s: %s", pkg, dep, list.where, why))
				}
			}
		}
	}
	return out
}

// forbidden says why package pkg may not import dep (both relative to the
// module), or returns "".
func forbidden(pkg, dep string) string {
	switch {
	case under(pkg, "internal"):
		if under(dep, "pod") || pattern(dep) != "" || under(dep, "image") || under(dep, "kube") || under(dep, "timeline") ||
			under(dep, "podapi") || under(dep, "cmd") {
			return "internal/ is plumbing below pod"
		}
	case pattern(pkg) != "":
		if q := pattern(dep); q != "" && q != pattern(pkg) {
			return "a pattern package imports another pattern"
		}
	case pkg == "pod":
		if pattern(dep) != "" || under(dep, "image") || under(dep, "kube") || under(dep, "timeline") || under(dep, "podapi") || under(dep, "cmd") {
			return "pod imports no pattern, image, kube, timeline, podapi or cmd"
		}
	}
	return ""
}

// relative returns path relative to the module, and false for a package
// of another module or the module's root package.
func relative(path string) (string, bool) {
	return strings.CutPrefix(path, module+"/")
}

// under reports whether pkg is dir or a package below it.
func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

// pattern returns the pattern package pkg belongs to, or "".
func pattern(pkg string) string {
	for _, p := range patterns {
		if under(pkg, p) {
			return p
		}
	}
	return ""
}
