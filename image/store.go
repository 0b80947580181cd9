package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/pod"
)

// DefaultDir is the store's directory under podkit's state directory,
// /var/lib/podkit.
const DefaultDir = "/var/lib/podkit/images"

// The annotations podkit writes on index.json's manifest descriptors.
const (
	// annotationRefName names a tag: the full normalized reference, as
	// the OCI image layout specifies and skopeo's oci: transport reads.
	annotationRefName = "org.opencontainers.image.ref.name"
	// annotationIndex keeps the digest of the multi-platform index a
	// manifest was chosen from.
	annotationIndex = "io.podkit.image.index"
)

var _ pod.ImageStore = (*Store)(nil)

// Store is a local image store: an OCI image layout of manifests,
// configurations and layer blobs, and the layers unpacked once each for
// containers to run from.
//
// All methods are safe for concurrent use, by several goroutines and by
// several processes sharing one directory: readers hold a shared flock on
// DIR/lock, index.json updates and removals an exclusive one. Concurrent
// pulls of one reference in one Store share one download. A Store holds
// no open files between calls and needs no Close.
type Store struct {
	dir      string
	log      *zap.Logger
	platform v1.Platform
	progress func(Progress)
	insecure map[string]bool
	keychain authn.Keychain
	base     http.RoundTripper

	pulls   singleflight.Group // keyed by normalized reference
	unpacks singleflight.Group // keyed by diffID

	mu      sync.Mutex
	flights map[string]*flight // guarded by mu; keyed as pulls
}

// Option configures a Store.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(s *Store) {
		if l != nil {
			s.log = l.Named("image")
		}
	})
}

// WithPlatform sets the platform a multi-platform image resolves to; the
// default is linux on the running architecture.
func WithPlatform(p v1.Platform) Option {
	return optionFunc(func(s *Store) { s.platform = p })
}

// WithProgress sets the function Pull, Load and Import report progress
// to. It is called from the goroutines doing the work, possibly several
// at once, and must return quickly.
func WithProgress(f func(Progress)) Option {
	return optionFunc(func(s *Store) { s.progress = f })
}

// WithInsecureRegistries lets the store speak plain HTTP to the
// registries named, as "host:port", when they do not answer HTTPS.
// Registries on localhost, 127.0.0.1 and ::1 may use plain HTTP without
// it; every other registry must use verified HTTPS.
func WithInsecureRegistries(hosts ...string) Option {
	return optionFunc(func(s *Store) {
		for _, h := range hosts {
			s.insecure[h] = true
		}
	})
}

// WithKeychain sets where registry credentials come from; the default is
// authn.DefaultKeychain ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json).
func WithKeychain(k authn.Keychain) Option {
	return optionFunc(func(s *Store) { s.keychain = k })
}

// WithTransport sets the HTTP transport registries are reached through,
// such as one trusting a test CA; the default is
// http.DefaultTransport.
func WithTransport(t http.RoundTripper) Option {
	return optionFunc(func(s *Store) { s.base = t })
}

// Open opens the store in dir, creating it (mode 0700) when missing, and
// removes what interrupted pulls and loads left behind that no running
// one is using. It takes the exclusive lock for that, so it waits for
// pulls and loads of other processes that hold the shared one.
func Open(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("image: dir: empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("image: dir %q: %w", dir, err)
	}
	s := &Store{
		dir:      abs,
		log:      zap.NewNop(),
		platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		insecure: map[string]bool{},
		flights:  map[string]*flight{},
		keychain: authn.DefaultKeychain,
		base:     http.DefaultTransport,
	}
	for _, o := range opts {
		o.apply(s)
	}
	for _, d := range []string{s.dir, s.blobDir(), s.layerDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
	}
	unlock, err := s.lock(unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(s.ociPath("oci-layout")); errors.Is(err, fs.ErrNotExist) {
		if err := writeFileAtomic(s.ociPath("oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
	}
	if _, err := os.Stat(s.ociPath("index.json")); errors.Is(err, fs.ErrNotExist) {
		if err := s.writeIndex(&v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}); err != nil {
			return nil, err
		}
	}
	if _, err := s.cleanTemp(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the store's directory; DIR/oci is its OCI image layout.
func (s *Store) Dir() string { return s.dir }

func (s *Store) ociPath(elem ...string) string {
	return filepath.Join(append([]string{s.dir, "oci"}, elem...)...)
}
func (s *Store) blobDir() string { return s.ociPath("blobs", "sha256") }
func (s *Store) blobPath(h v1.Hash) string {
	return filepath.Join(s.blobDir(), h.Hex)
}
func (s *Store) layerDir() string { return filepath.Join(s.dir, "layers", "sha256") }
func (s *Store) layerPath(diffID v1.Hash) string {
	return filepath.Join(s.layerDir(), diffID.Hex)
}

// tempPrefix starts the name of everything a pull, load or import writes
// before it is verified; such names are never trusted, and cleanTemp
// removes those no process holds.
const tempPrefix = "tmp-"

// lock takes a flock of how (unix.LOCK_SH or unix.LOCK_EX) on DIR/lock
// and returns its release. Each call opens its own file description, so
// two Stores in one process exclude each other as two processes do.
func (s *Store) lock(how int) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image: lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// readIndex reads index.json; the caller holds the lock.
func (s *Store) readIndex() (*v1.IndexManifest, error) {
	f, err := os.Open(s.ociPath("index.json"))
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	idx, err := v1.ParseIndexManifest(f)
	if err != nil {
		return nil, fmt.Errorf("image: %s: %w", f.Name(), err)
	}
	return idx, nil
}

// writeIndex replaces index.json; the caller holds the exclusive lock.
func (s *Store) writeIndex(idx *v1.IndexManifest) error {
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("image: index.json: %w", err)
	}
	if err := writeFileAtomic(s.ociPath("index.json"), b); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	return nil
}

// writeFileAtomic writes name through a temporary file, fsync and rename,
// so a reader sees the old content or the new, never a part.
func writeFileAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), tempPrefix+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// cleanTemp removes the temporary files and directories of interrupted
// pulls, loads and imports and returns the bytes freed. The caller holds
// the exclusive lock, so no one is writing a temporary file (writers
// hold the shared lock); a temporary directory in use is skipped, as its
// user holds a flock on it.
func (s *Store) cleanTemp() (int64, error) {
	var freed int64
	for _, d := range []string{s.dir, s.ociPath(), s.blobDir(), filepath.Join(s.dir, "layers"), s.layerDir()} {
		ents, err := os.ReadDir(d)
		if err != nil {
			return freed, fmt.Errorf("image: %w", err)
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), tempPrefix) {
				continue
			}
			p := filepath.Join(d, e.Name())
			if e.IsDir() && busy(p) {
				continue
			}
			freed += diskUsage(p)
			if err := os.RemoveAll(p); err != nil {
				return freed, fmt.Errorf("image: %w", err)
			}
		}
	}
	return freed, nil
}

// diskUsage returns the bytes of the regular files under p.
func diskUsage(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// tempDir makes a temporary directory under DIR and holds a shared flock
// on it, so cleanTemp leaves it alone, until release removes it.
func (s *Store) tempDir(what string) (string, func(), error) {
	// The shared lock keeps cleanTemp away until the flock is taken.
	unlock, err := s.lock(unix.LOCK_SH)
	if err != nil {
		return "", nil, err
	}
	defer unlock()
	tmp, err := os.MkdirTemp(s.dir, tempPrefix+what+"-*")
	if err != nil {
		return "", nil, fmt.Errorf("image: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err == nil {
		if err = unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("image: %w", err)
	}
	return tmp, func() { os.RemoveAll(tmp); f.Close() }, nil
}

// busy reports whether someone holds a flock on the directory p.
func busy(p string) bool {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil
}
