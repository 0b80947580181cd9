package unpack_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/unpack"
)

// Each hostile layer tries to write outside the layer's directory: its
// entries must land inside it, or Layer must fail naming the entry, and
// the sentinel directory next to it must be unchanged.
func TestLayerHostile(t *testing.T) {
	requireRoot(t)
	// A unique name under the host's /tmp, which a layer might reach
	// through a link to "/".
	hostName := "podkit-unpack-" + strings.ReplaceAll(t.Name(), "/", "-")
	hostPath := filepath.Join("/tmp", hostName)
	t.Cleanup(func() { os.RemoveAll(hostPath) })

	for _, tc := range []struct {
		name string
		// entries gets the sentinel's absolute path.
		entries func(sentinel string) []entry
		// inside is a file the layer must have written inside dir;
		// errEntry, the entry an error must name.
		inside, errEntry string
	}{{
		name:    "dot-dot name",
		entries: func(string) []entry { return []entry{file("../sentinel/keep", "pwned")} },
		inside:  "sentinel/keep",
	}, {
		name:    "dot-dot inside a name",
		entries: func(string) []entry { return []entry{file("etc/../../sentinel/keep", "pwned")} },
		inside:  "sentinel/keep",
	}, {
		name:    "absolute name",
		entries: func(s string) []entry { return []entry{file(s+"/keep", "pwned")} },
		inside:  "SENTINEL/keep",
	}, {
		name:    "link to the root, then a write through it",
		entries: func(string) []entry { return []entry{symlink("r", "/"), file("r/tmp/"+hostName, "pwned")} },
		inside:  "tmp/" + hostName,
	}, {
		name: "link up out of the directory, then a write through it",
		entries: func(string) []entry {
			return []entry{symlink("up", "../../../.."), dirEntry("up/sentinel/"), file("up/sentinel/keep", "pwned")}
		},
		inside: "sentinel/keep",
	}, {
		name: "absolute link to the sentinel, then a write through it",
		entries: func(s string) []entry {
			return []entry{symlink("s", s), file("s/keep", "pwned")}
		},
		errEntry: "s/keep",
	}, {
		name: "absolute link to the sentinel's parent, then a directory and write through it",
		entries: func(s string) []entry {
			return []entry{symlink("s", filepath.Dir(s)), dirEntry("s/sentinel/"), file("s/sentinel/keep", "pwned")}
		},
		errEntry: "s/sentinel/",
	}, {
		name: "link to a file outside, then a file of the same name",
		entries: func(s string) []entry {
			return []entry{symlink("f", s+"/keep"), file("f", "pwned")}
		},
		inside: "f",
	}, {
		name: "relative link to a file outside, then a file of the same name",
		entries: func(string) []entry {
			return []entry{symlink("f", "../sentinel/keep"), file("f", "pwned")}
		},
		inside: "f",
	}, {
		name: "link to a file outside, then a device, a FIFO and a directory of the same name",
		entries: func(s string) []entry {
			return []entry{
				symlink("f", s+"/keep"), {Header: tar.Header{Typeflag: tar.TypeFifo, Name: "f", Mode: 0o777}},
				symlink("g", s+"/keep"), {Header: tar.Header{Typeflag: tar.TypeChar, Name: "g", Mode: 0o4777, Devmajor: 1, Devminor: 3}},
				symlink("d", s), {Header: tar.Header{Typeflag: tar.TypeDir, Name: "d", Mode: 0o777, Uid: 1234,
					PAXRecords: map[string]string{"SCHILY.xattr.user.pwned": "y"}}},
				file("d/inside", "ok"),
			}
		},
		inside: "d/inside",
	}, {
		name: "hard link to a file outside",
		entries: func(string) []entry {
			return []entry{hardlink("h", "../sentinel/keep")}
		},
		errEntry: "h",
	}, {
		name: "hard link to an absolute path outside",
		entries: func(s string) []entry {
			return []entry{hardlink("h", s+"/keep")}
		},
		errEntry: "h",
	}, {
		name: "hard link through a link that points outside",
		entries: func(s string) []entry {
			return []entry{symlink("s", s), hardlink("h", "s/keep")}
		},
		errEntry: "h",
	}, {
		name: "hard link through a link to the root",
		entries: func(s string) []entry {
			return []entry{symlink("s", "/"), hardlink("h", "s"+s+"/keep")}
		},
		errEntry: "h",
	}, {
		name: "hard link to a link that points outside, then a write to it",
		entries: func(s string) []entry {
			return []entry{symlink("s", s+"/keep"), hardlink("h", "s"), file("h", "pwned")}
		},
		inside: "h",
	}, {
		name: "directory replaced by a link, then a write through it",
		entries: func(s string) []entry {
			return []entry{dirEntry("d/"), file("d/a", "a"), symlink("d", s), file("d/keep", "pwned")}
		},
		errEntry: "d/keep",
	}, {
		name: "directory replaced by a relative link, then a write through it",
		entries: func(string) []entry {
			return []entry{dirEntry("d/"), file("d/a", "a"), symlink("d", "../../../sentinel"), file("d/keep", "pwned")}
		},
		errEntry: "d/keep",
	}, {
		name: "chain of links",
		entries: func(string) []entry {
			return []entry{symlink("a", "b/c"), symlink("b", "."), symlink("c", "../.."), file("a/sentinel/keep", "pwned")}
		},
		inside: "sentinel/keep",
	}, {
		name: "whiteout through a link",
		entries: func(s string) []entry {
			return []entry{symlink("s", s), file("s/.wh.keep", ""), file("s/.wh..wh..opq", "")}
		},
		errEntry: "s/.wh.keep",
	}, {
		name: "opaque marker through a link to the root",
		entries: func(s string) []entry {
			return []entry{symlink("s", "/"), file("s/.wh..wh..opq", "")}
		},
		inside: "s",
	}, {
		name: "link to /proc's magic links",
		entries: func(string) []entry {
			return []entry{symlink("p", "/proc/self/cwd"), file("p/pwned", "pwned")}
		},
		errEntry: "p/pwned",
	}, {
		name: "very long name",
		entries: func(string) []entry {
			return []entry{file(strings.Repeat("../", 1500)+"sentinel/keep", "pwned")}
		},
		errEntry: strings.Repeat("../", 1500) + "sentinel/keep",
	}, {
		name: "deep nesting",
		entries: func(string) []entry {
			return []entry{file(strings.Repeat("d/", 1900)+"f", "deep")}
		},
		inside: strings.Repeat("d/", 1900) + "f",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			before := s.outside(t)
			_, err := unpack.Layer(context.Background(), bytes.NewReader(layer(t, tc.entries(s.sentinel)...)), s.dir)
			if tc.errEntry != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), `unpack: entry "`+tc.errEntry+`": `)
			} else {
				require.NoError(t, err)
				inside := strings.ReplaceAll(tc.inside, "SENTINEL", strings.TrimPrefix(s.sentinel, "/"))
				_, err := os.Lstat(filepath.Join(s.dir, inside))
				assert.NoError(t, err, "the entry lands inside the layer's directory")
			}
			assert.Equal(t, before, s.outside(t), "the sentinel is untouched")
			_, err = os.Lstat(hostPath)
			assert.True(t, os.IsNotExist(err), "nothing reached the host's /tmp")
		})
	}
}
