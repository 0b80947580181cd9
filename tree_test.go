package podkit_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
)

// maxTrackedFileBytes bounds every file the repository tracks; a fixture
// that must be larger is named in largeFixtures.
const maxTrackedFileBytes = 2 << 20

// largeFixtures are the tracked files allowed past maxTrackedFileBytes.
var largeFixtures = map[string]bool{}

// executableMagics are the first bytes of the executable formats a build
// leaves behind: ELF, Mach-O (both byte orders, 32 and 64 bit, universal)
// and PE.
var executableMagics = [][]byte{
	[]byte("\x7fELF"),
	{0xfe, 0xed, 0xfa, 0xce}, {0xce, 0xfa, 0xed, 0xfe},
	{0xfe, 0xed, 0xfa, 0xcf}, {0xcf, 0xfa, 0xed, 0xfe},
	{0xca, 0xfe, 0xba, 0xbe},
	[]byte("MZ"),
}

// The tree holds sources, docs and small fixtures: no binary a build
// leaves behind, and nothing larger than maxTrackedFileBytes that is not
// listed in largeFixtures.
func TestTrackedFiles(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		if os.Getenv(testenv.PrebuiltEnv) != "" {
			t.Skipf("no git checkout where test binaries were built elsewhere (%s): %v", testenv.PrebuiltEnv, err)
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("git ls-files: %v (CI runs in a git checkout)", err)
		}
		t.Skipf("not a git checkout: %v", err)
	}
	files := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	require.NotEmpty(t, files)
	for _, name := range files {
		info, err := os.Lstat(name)
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet in the index
		}
		require.NoError(t, err)
		if !info.Mode().IsRegular() {
			continue
		}
		if info.Size() > maxTrackedFileBytes && !largeFixtures[name] {
			t.Errorf("%s: %d bytes, over the %d-byte limit (list a fixture that must be large in largeFixtures)", name, info.Size(), maxTrackedFileBytes)
		}
		assert.False(t, isExecutableBinary(t, name), "%s: a compiled executable is tracked", name)
	}
}

func isExecutableBinary(t *testing.T, name string) bool {
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		require.NoError(t, err)
	}
	head = head[:n]
	for _, magic := range executableMagics {
		if bytes.HasPrefix(head, magic) {
			// "MZ" also starts text files; a PE file is never
			// valid UTF-8 past its header, so require a binary byte.
			if string(magic) == "MZ" && n == len(head) && isText(head) {
				continue
			}
			return true
		}
	}
	return false
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			return false
		}
	}
	return true
}
