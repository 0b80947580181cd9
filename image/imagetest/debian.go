package imagetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// DebianRedisName is the file name, in CacheDir, of the root filesystem
// tarball DebianRedis builds.
const DebianRedisName = "debian-bookworm-minbase-redis-server.tar"

// CacheDir returns the directory where tests keep what is slow to build:
// $XDG_CACHE_HOME/podkit-test, or ~/.cache/podkit-test.
func CacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "podkit-test"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("imagetest: cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "podkit-test"), nil
}

// DebianRedis returns the path of a root filesystem tarball of Debian 12
// (bookworm), minbase variant, with redis-server and its dependencies
// (redis-tools among them), as
//
//	mmdebstrap --variant=minbase --include=redis-server bookworm OUT.tar
//
// builds it: about 184 MB, 17-20 s from the Debian mirror. The tarball is
// kept in CacheDir and built only when missing there; it is written to a
// temporary name and renamed, so an interrupted build leaves nothing a
// later call trusts. DebianRedis needs root, mmdebstrap and the network;
// it blocks until the tarball is there or ctx is done. Concurrent callers
// may each build it; the last rename wins, with the same content.
func DebianRedis(ctx context.Context) (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, DebianRedisName)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("imagetest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".building-*.tar")
	if err != nil {
		return "", fmt.Errorf("imagetest: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--quiet", "--variant=minbase", "--include=redis-server", "bookworm", tmp.Name())
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("imagetest: mmdebstrap: %w: %s", err, b)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("imagetest: %w", err)
	}
	return out, nil
}
