package pod

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ProjectedVolume is a volume of files the pod writes from data it is
// given: what Kubernetes' configMap, secret, downwardAPI and projected
// volumes become. Containers mount it read-only, whatever their mount
// says, and see its files change in place when UpdateVolume replaces them.
//
// The files are laid out as the kubelet's atomic writer lays them out: the
// content sits in a directory named after the time it was written
// ("..2026_12_05_04_50_00.123456789"), a symbolic link "..data" points to
// that directory, and each top-level entry is a symbolic link through it
// ("key -> ..data/key"). An update writes a new directory and swaps
// "..data" with one rename, so a reader sees either every old file or
// every new one, never a mix or a half-written file.
type ProjectedVolume struct {
	// Files are the volume's files. Paths are relative, unique and
	// neither one a directory of another.
	Files []ProjectedFile
	// Medium is MediumMemory for a volume kept in a tmpfs, never written
	// to disk, as the kubelet keeps a secret; MediumDefault keeps the
	// volume in the pod's state directory.
	Medium StorageMedium
}

// ProjectedFile is one file of a ProjectedVolume.
type ProjectedFile struct {
	// Path is where the file is, relative to the volume: slash-separated,
	// without a ".." element, and not starting with ".." (the names the
	// volume's own layout uses). Missing directories are created 0755.
	Path string
	// Data is the file's content.
	Data []byte
	// Field, when set instead of Data, fills the file with a fact of the
	// pod as it starts: FieldPodName or FieldPodUID (the volume is written
	// before the pod's network exists, so addresses cannot be used, as
	// Kubernetes allows only metadata in a downwardAPI volume).
	Field PodField
	// Mode is the file's permission bits; zero means 0644, the kubelet's
	// defaultMode.
	Mode os.FileMode
}

// DefaultFileMode is the mode of a ProjectedFile whose Mode is zero.
const DefaultFileMode os.FileMode = 0o644

// dataLink is the symbolic link to the volume's current content, and
// dataLinkTmp the one that replaces it.
const (
	dataLink    = "..data"
	dataLinkTmp = "..data_tmp"
)

// UpdateVolume replaces the files of the running pod's ProjectedVolume
// name with files, atomically: a container reading the volume sees the
// old files or the new ones, never a mix, without a restart. Files that
// are not in the new set disappear; Field files are filled in again.
// Spec keeps reporting the files given to New.
//
// UpdateVolume may be called from any goroutine; updates of a pod are
// serialised. It blocks while it writes the files. It fails with
// ErrNotRunning before Start has created the volumes and once the pod has
// removed them, names an unknown volume or one that is not projected, and
// refuses invalid files (ErrInvalidSpec) without changing the volume.
func (p *Pod) UpdateVolume(name string, files []ProjectedFile) error {
	var errs fieldErrors
	validateProjectedFiles(&errs, "files", files)
	if err := errs.err(p.name); err != nil {
		return err
	}
	p.volMu.Lock()
	defer p.volMu.Unlock()
	if !p.volumesReady || p.volumesGone {
		return fmt.Errorf("pod %q: volume %q: %w", p.name, name, ErrNotRunning)
	}
	var v *Volume
	for i := range p.spec.Volumes {
		if p.spec.Volumes[i].Name == name {
			v = &p.spec.Volumes[i]
		}
	}
	switch {
	case v == nil:
		return fmt.Errorf("pod %q: no volume %q", p.name, name)
	case v.Projected == nil:
		return fmt.Errorf("pod %q: volume %q: not a projected volume", p.name, name)
	}
	if err := writeProjected(p.volumePaths[name], p.projectedData(files), p.clock.Now()); err != nil {
		return fmt.Errorf("pod %q: volume %q: %w", p.name, name, err)
	}
	return nil
}

// createProjected creates the directory of the projected volume v, a tmpfs
// for a Memory one, and writes its files.
func (p *Pod) createProjected(dir string, v *ProjectedVolume) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if v.Medium == MediumMemory {
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
			return fmt.Errorf("mount tmpfs: %w", err)
		}
	}
	return writeProjected(dir, p.projectedData(v.Files), p.clock.Now())
}

// projectedData is files with their Field files filled in and modes
// defaulted.
func (p *Pod) projectedData(files []ProjectedFile) []ProjectedFile {
	out := make([]ProjectedFile, len(files))
	for i, f := range files {
		if f.Field != "" {
			f.Data = []byte(p.fieldValue(f.Field))
		}
		if f.Mode == 0 {
			f.Mode = DefaultFileMode
		}
		out[i] = f
	}
	return out
}

// writeProjected writes files into dir with the atomic writer's layout:
// a new timestamped directory, a rename of "..data" onto it, the top-level
// links, then the removal of what the old content had alone. A crash
// leaves either the old content or the new one behind "..data".
func writeProjected(dir string, files []ProjectedFile, now time.Time) error {
	oldTS, _ := os.Readlink(filepath.Join(dir, dataLink))
	if oldTS != "" && sameContent(filepath.Join(dir, oldTS), files) {
		return nil
	}
	ts, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return errors.Join(err, os.RemoveAll(ts))
	}
	for _, f := range files {
		if err := writeFile(ts, f); err != nil {
			return errors.Join(err, os.RemoveAll(ts))
		}
	}
	tmp := filepath.Join(dir, dataLinkTmp)
	_ = os.Remove(tmp) // left by an update that failed here
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return errors.Join(err, os.RemoveAll(ts))
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		return errors.Join(err, os.Remove(tmp), os.RemoveAll(ts))
	}
	top := topLevel(files)
	for name := range top {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(path.Join(dataLink, name), link); err != nil {
			return err
		}
	}
	var errs []error
	if oldTS != "" {
		entries, err := os.ReadDir(filepath.Join(dir, oldTS))
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range entries {
			if !top[e.Name()] {
				errs = append(errs, os.Remove(filepath.Join(dir, e.Name())))
			}
		}
		errs = append(errs, os.RemoveAll(filepath.Join(dir, oldTS)))
	}
	return errors.Join(errs...)
}

// writeFile writes f below the directory ts.
func writeFile(ts string, f ProjectedFile) error {
	name := filepath.Join(ts, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(name, f.Data, f.Mode); err != nil {
		return err
	}
	return os.Chmod(name, f.Mode) // past the umask
}

// topLevel returns the first element of each file's path.
func topLevel(files []ProjectedFile) map[string]bool {
	top := make(map[string]bool)
	for _, f := range files {
		first, _, _ := strings.Cut(path.Clean(f.Path), "/")
		top[first] = true
	}
	return top
}

// sameContent reports whether the directory ts holds exactly files, with
// their modes.
func sameContent(ts string, files []ProjectedFile) bool {
	want := make(map[string]ProjectedFile, len(files))
	for _, f := range files {
		want[path.Clean(f.Path)] = f
	}
	n := 0
	err := filepath.WalkDir(ts, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ts, name)
		f, ok := want[filepath.ToSlash(rel)]
		if !ok {
			return fs.ErrExist
		}
		fi, err := d.Info()
		if err != nil || fi.Mode().Perm() != f.Mode.Perm() {
			return fs.ErrExist
		}
		data, err := os.ReadFile(name)
		if err != nil || !bytes.Equal(data, f.Data) {
			return fs.ErrExist
		}
		n++
		return nil
	})
	return err == nil && n == len(want)
}

// validateProjectedFiles checks the files of a projected volume as the
// kubelet checks an atomic writer's payload.
func validateProjectedFiles(errs *fieldErrors, field string, files []ProjectedFile) {
	paths := make(map[string]bool)
	for i, f := range files {
		ff := fmt.Sprintf("%s[%d]", field, i)
		p := f.Path
		first, _, _ := strings.Cut(p, "/")
		switch {
		case p == "":
			errs.add(ff+".path", p, "must not be empty")
		case path.IsAbs(p):
			errs.add(ff+".path", p, "must be relative")
		case containsDotDot(p):
			errs.add(ff+".path", p, "must not contain '..'")
		case strings.HasPrefix(first, ".."):
			errs.add(ff+".path", p, "must not start with '..'")
		case strings.IndexByte(p, 0) >= 0:
			errs.add(ff+".path", p, "contains a NUL byte")
		case paths[path.Clean(p)]:
			errs.add(ff+".path", p, "duplicate path")
		}
		paths[path.Clean(p)] = true
		if f.Mode&^os.ModePerm != 0 {
			errs.add(ff+".mode", fmt.Sprintf("%#o", uint32(f.Mode)), "must be permission bits (0 to 0777)")
		}
		switch f.Field {
		case "":
		case FieldPodName, FieldPodUID:
			if len(f.Data) > 0 {
				errs.add(ff+".field", string(f.Field), "must not be set with data")
			}
		default:
			errs.add(ff+".field", string(f.Field), "must be metadata.name or metadata.uid in a volume")
		}
	}
	for _, f := range files {
		p := path.Clean(f.Path)
		for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if paths[dir] {
				errs.add(field, dir, fmt.Sprintf("is a file and the directory of %q", p))
			}
		}
	}
}
