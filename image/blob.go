package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// hasBlob reports whether the store holds the blob h. A blob under its
// final name was verified before it was renamed there.
func (s *Store) hasBlob(h v1.Hash) bool {
	_, err := os.Stat(s.blobPath(h))
	return err == nil
}

// writeBlob stores the blob h of size bytes (-1: unknown) read from r,
// unless the store holds it. It writes to a temporary name, checks the
// digest and size, and renames only a verified blob into place. count,
// when not nil, is told the bytes as they are written. The caller holds
// the shared lock.
func (s *Store) writeBlob(ctx context.Context, h v1.Hash, size int64, r io.Reader, count func(int64)) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("image: blob %s: unsupported digest algorithm", h)
	}
	if s.hasBlob(h) {
		return nil
	}
	f, err := os.CreateTemp(s.blobDir(), tempPrefix+h.Hex+"-*")
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	d := sha256.New()
	n, err := copyBuffer(io.MultiWriter(f, d), &ctxReader{ctx: ctx, r: r, count: count})
	if err != nil {
		return fmt.Errorf("image: blob %s: %w", h, err)
	}
	if err := verify(h, size, d, n); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("image: blob %s: %w", h, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("image: blob %s: %w", h, err)
	}
	if err := os.Rename(f.Name(), s.blobPath(h)); err != nil {
		return fmt.Errorf("image: blob %s: %w", h, err)
	}
	return nil
}

// ErrDigestMismatch is wrapped by the error for content whose digest or
// size differs from what its manifest, configuration or archive says.
var ErrDigestMismatch = errors.New("image: digest mismatch")

func verify(want v1.Hash, size int64, d hash.Hash, n int64) error {
	got := hex.EncodeToString(d.Sum(nil))
	if got != want.Hex {
		return fmt.Errorf("%w: %s: content has sha256:%s", ErrDigestMismatch, want, got)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("%w: %s: %d bytes, descriptor says %d", ErrDigestMismatch, want, n, size)
	}
	return nil
}

// readBlob returns the content of a stored blob, which must be small
// (a manifest or a configuration).
func (s *Store) readBlob(h v1.Hash) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image: blob %s: missing from the store", h)
	}
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return b, nil
}

// ctxReader stops reading when ctx is done and counts what it reads.
type ctxReader struct {
	ctx   context.Context
	r     io.Reader
	count func(int64)
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if n > 0 && c.count != nil {
		c.count(int64(n))
	}
	return n, err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// linkBlob links file, whose content has the digest h, into place as the
// blob h unless the store holds it. The caller holds the shared lock.
func (s *Store) linkBlob(h v1.Hash, file string) error {
	if err := os.Link(file, s.blobPath(h)); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("image: blob %s: %w", h, err)
	}
	return nil
}

// stage writes r into a new file in dir, hashing it, and returns the
// file, its digest and its size. With want set, a digest other than want
// is an error wrapping ErrDigestMismatch.
func stage(ctx context.Context, dir string, r io.Reader, want v1.Hash, count func(int64)) (string, v1.Hash, int64, error) {
	f, err := os.CreateTemp(dir, "blob-*")
	if err != nil {
		return "", v1.Hash{}, 0, fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	d := sha256.New()
	n, err := copyBuffer(io.MultiWriter(f, d), &ctxReader{ctx: ctx, r: r, count: count})
	if err != nil {
		return "", v1.Hash{}, 0, fmt.Errorf("image: %w", err)
	}
	if want != (v1.Hash{}) {
		if err := verify(want, -1, d, n); err != nil {
			return "", v1.Hash{}, 0, err
		}
	}
	if err := f.Sync(); err != nil {
		return "", v1.Hash{}, 0, fmt.Errorf("image: %w", err)
	}
	return f.Name(), v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(d.Sum(nil))}, n, f.Close()
}

// copyBuffer copies with a 1 MiB buffer: blobs are large, and each
// buffer costs a write system call and a progress report.
func copyBuffer(w io.Writer, r io.Reader) (int64, error) {
	return io.CopyBuffer(w, r, make([]byte, 1<<20))
}
