package pod

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/owner"
	"github.com/podkit/podkit/internal/shim"
)

// Volume is storage that containers of a pod mount, like a Kubernetes
// volume. Exactly one source is set: EmptyDir, HostPath, or Projected
// (files the pod writes, what Kubernetes' configMap, secret, downwardAPI
// and projected volumes become).
type Volume struct {
	// Name identifies the volume in VolumeMounts; a DNS-1123 label, unique
	// within the pod.
	Name      string
	EmptyDir  *EmptyDirVolume
	HostPath  *HostPathVolume
	Projected *ProjectedVolume
}

// StorageMedium is where an emptyDir volume keeps its data.
type StorageMedium string

const (
	// MediumDefault keeps an emptyDir on the disk of podkit's state
	// directory.
	MediumDefault StorageMedium = ""
	// MediumMemory keeps an emptyDir in a tmpfs.
	MediumMemory StorageMedium = "Memory"
)

// EmptyDirVolume is a directory created empty for the pod when it starts and
// removed with it.
type EmptyDirVolume struct {
	Medium StorageMedium
	// SizeLimit bounds a Memory emptyDir, in bytes. Zero means the pod's
	// memory limit (Spec.Resources.MemoryLimit), or else the sum of its
	// containers' limits when every container has one, as Kubernetes
	// sizes a memory-backed emptyDir; without either, half of the
	// machine's memory, the tmpfs default. The pages a container writes
	// count against its memory cgroup too.
	SizeLimit int64
}

// HostPathVolume is an existing file or directory of the host.
type HostPathVolume struct {
	Path string
}

// VolumeMount mounts a volume into a container.
type VolumeMount struct {
	// Name is the Volume's name.
	Name string
	// MountPath is where the volume appears in the container: an absolute
	// path without "..". Inside a root filesystem it is created; on the
	// host's filesystem (no RootFS) it must exist.
	MountPath string
	// ReadOnly mounts the volume read-only for this container.
	ReadOnly bool
	// SubPath, when set, mounts that path inside the volume instead of
	// its root, as Kubernetes' subPath: a relative path without "..",
	// resolved inside the volume when the container starts (a link in it
	// cannot lead out), a file or a directory, created as a directory
	// when it is missing. A file mounted so does not see the volume's
	// later updates, as in Kubernetes.
	SubPath string
}

// DefaultStateDir holds the pods' emptyDir volumes.
//
// The state tree is closed to other users: the state directory, pods,
// pods/<owner> and pods/<owner>/volumes are 0700, created so and narrowed
// if they exist with wider modes (a state directory that is sticky, a
// shared one such as /tmp, or that belongs to another user keeps its
// mode: pods below it is closed in any case). Each emptyDir is 0777, so
// that a non-root container of the pod can write it: containers reach it
// through their bind mount of the directory itself, never through its
// closed parents.
const DefaultStateDir = "/var/lib/podkit"

// privateDir is the mode of the directories of the state tree.
const privateDir = 0o700

// ensurePrivateDir creates dir with mode privateDir, or narrows an existing
// one to it. It refuses a symbolic link.
func ensurePrivateDir(dir string) error {
	if err := os.Mkdir(dir, privateDir); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	if fi.Mode().Perm() != privateDir {
		return os.Chmod(dir, privateDir)
	}
	return nil
}

// ensureStateDir creates the state directory 0700, or narrows an existing
// one this user owns to 0700 unless it is sticky (a directory shared on
// purpose).
func ensureStateDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, privateDir); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) == os.Geteuid() && fi.Mode()&os.ModeSticky == 0 && fi.Mode().Perm() != privateDir {
		return os.Chmod(dir, privateDir)
	}
	return nil
}

// podsDir returns the directory holding each pod's state.
func (p *Pod) podsDir() string { return filepath.Join(p.cfg.stateDir, "pods") }

// createVolumes removes what pods of dead supervisors left in the state
// directory, and creates this pod's emptyDir volumes.
func (p *Pod) createVolumes() error {
	if removed, err := removeStalePodDirs(p.podsDir()); err != nil {
		p.log.Warn("cannot remove stale volumes", zap.Error(err))
	} else if len(removed) > 0 {
		p.log.Info("removed volumes left by pods whose supervisor died", zap.Strings("dirs", removed))
	}
	p.volMu.Lock()
	defer p.volMu.Unlock()
	p.volumePaths = make(map[string]string)
	closed := false
	for _, v := range p.spec.Volumes {
		if v.HostPath != nil {
			p.volumePaths[v.Name] = v.HostPath.Path
			continue
		}
		if !closed {
			if err := p.createStateTree(); err != nil {
				return fmt.Errorf("pod %q: state directory: %w", p.name, err)
			}
			closed = true
		}
		dir := filepath.Join(p.podsDir(), p.ownerName, "volumes", v.Name)
		switch {
		case v.Projected != nil:
			// Recorded first, so that the removal of the pod's state
			// finds a tmpfs mounted before a failed write.
			p.volumePaths[v.Name] = dir
			if err := p.createProjected(dir, v.Projected); err != nil {
				return fmt.Errorf("pod %q: volume %q: %w", p.name, v.Name, err)
			}
		case v.EmptyDir != nil:
			if err := os.Mkdir(dir, 0o777); err != nil {
				return fmt.Errorf("pod %q: volume %q: %w", p.name, v.Name, err)
			}
			// Like Kubernetes' emptyDir: writable by every user of the
			// pod's containers; other users of the host cannot pass its
			// 0700 parents.
			if err := os.Chmod(dir, 0o777); err != nil {
				return fmt.Errorf("pod %q: volume %q: %w", p.name, v.Name, err)
			}
			if v.EmptyDir.Medium == MediumMemory {
				opts := "mode=0777"
				if size := p.memoryVolumeSize(v.EmptyDir); size > 0 {
					opts += ",size=" + strconv.FormatInt(size, 10)
				}
				if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
					return fmt.Errorf("pod %q: volume %q: mount tmpfs: %w", p.name, v.Name, err)
				}
			}
			p.volumePaths[v.Name] = dir
		}
	}
	p.volumesReady = true
	return nil
}

// createStateTree creates, or closes, the directories above the pod's
// volumes: the state directory, pods, pods/<owner> and its volumes.
func (p *Pod) createStateTree() error {
	if err := ensureStateDir(p.cfg.stateDir); err != nil {
		return err
	}
	for _, dir := range []string{p.podsDir(), filepath.Join(p.podsDir(), p.ownerName), filepath.Join(p.podsDir(), p.ownerName, "volumes")} {
		if err := ensurePrivateDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// memoryVolumeSize is the size of a Memory emptyDir's tmpfs: its
// SizeLimit, or the pod's memory limit, or the sum of its containers'
// limits when all have one; zero means the tmpfs default.
func (p *Pod) memoryVolumeSize(v *EmptyDirVolume) int64 {
	if v.SizeLimit > 0 {
		return v.SizeLimit
	}
	if l := p.spec.Resources.MemoryLimit; l > 0 {
		return l
	}
	var sum int64
	for _, m := range p.members {
		if m.spec.Func != nil {
			continue // in-process: bounded by no cgroup of its own
		}
		if m.spec.Resources.MemoryLimit <= 0 {
			return 0
		}
		sum += m.spec.Resources.MemoryLimit
	}
	return sum
}

// removeVolumes removes the pod's state directory: its emptyDir volumes,
// /etc files and containers' writable layers.
func (p *Pod) removeVolumes() error {
	p.volMu.Lock()
	p.volumesGone = true
	p.volMu.Unlock()
	if p.ownerName == "" {
		return nil
	}
	dir := filepath.Join(p.podsDir(), p.ownerName)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := removePodDir(dir); err != nil {
		return fmt.Errorf("pod %q: %w", p.name, err)
	}
	return nil
}

// removeStalePodDirs removes the state of pods whose supervisor died.
func removeStalePodDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || owner.Alive(e.Name()) {
			continue
		}
		d := filepath.Join(dir, e.Name())
		if err := removePodDir(d); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, d)
	}
	return removed, errors.Join(errs...)
}

// removePodDir unmounts the tmpfs volumes under dir and removes it.
func removePodDir(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := unix.Unmount(mounts[i], unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", mounts[i], err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// mountsUnder lists the mount points below dir in this mount namespace, in
// the order they were mounted.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the octal escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// filesystem returns the mount namespace set-up of m's init.
func (p *Pod) filesystem(c Container) shim.Filesystem {
	fs := shim.Filesystem{Rootfs: c.RootFS, Dir: c.WorkingDir, Masks: p.cfg.maskedPaths}
	if c.ownsRoot() && c.Image == "" {
		// The host's filesystem through private writable layers, with
		// podkit's state (images, other pods' volumes) hidden.
		dir := p.containerDir(c)
		fs.Rootfs, fs.HostUpper = filepath.Join(dir, "root"), filepath.Join(dir, "upper")
		fs.Masks = append(append([]string(nil), p.cfg.maskedPaths...), p.cfg.stateDir)
	}
	if c.SecurityContext != nil {
		fs.ReadOnlyRootfs = c.SecurityContext.ReadOnlyRootFilesystem
	}
	for _, vm := range c.VolumeMounts {
		fs.Mounts = append(fs.Mounts, shim.Mount{Source: p.volumePaths[vm.Name], Target: vm.MountPath,
			ReadOnly: vm.ReadOnly || p.projected(vm.Name), SubPath: vm.SubPath})
	}
	return fs
}

// validateVolumes checks the pod's volumes and the containers' mounts.
func (p *Pod) validateVolumes(errs *fieldErrors) {
	if p.cfg.stateDir == "" || !filepath.IsAbs(p.cfg.stateDir) {
		errs.add("stateDir", p.cfg.stateDir, "must be an absolute path")
	}
	for i, m := range p.cfg.maskedPaths {
		if !filepath.IsAbs(m) {
			errs.add(fmt.Sprintf("maskedPaths[%d]", i), m, "must be an absolute path")
		}
	}
	names := make(map[string]bool)
	for i, v := range p.spec.Volumes {
		field := fmt.Sprintf("volumes[%d]", i)
		for _, msg := range dnsLabelErrors(v.Name) {
			errs.add(field+".name", v.Name, msg)
		}
		if names[v.Name] {
			errs.add(field+".name", v.Name, "duplicate volume name")
		}
		names[v.Name] = true
		sources := 0
		for _, set := range []bool{v.EmptyDir != nil, v.HostPath != nil, v.Projected != nil} {
			if set {
				sources++
			}
		}
		switch {
		case sources != 1:
			errs.add(field, v.Name, "exactly one of emptyDir, hostPath and projected must be set")
		case v.Projected != nil:
			if m := v.Projected.Medium; m != MediumDefault && m != MediumMemory {
				errs.add(field+".projected.medium", string(m), `must be "" or "Memory"`)
			}
			validateProjectedFiles(errs, field+".projected.files", v.Projected.Files)
		case v.HostPath != nil:
			hp := v.HostPath.Path
			if !filepath.IsAbs(hp) {
				errs.add(field+".hostPath.path", hp, "must be an absolute path")
			} else if _, err := os.Stat(hp); err != nil {
				errs.add(field+".hostPath.path", hp, "does not exist on the host")
			}
		case v.EmptyDir != nil:
			if m := v.EmptyDir.Medium; m != MediumDefault && m != MediumMemory {
				errs.add(field+".emptyDir.medium", string(m), `must be "" or "Memory"`)
			}
			if v.EmptyDir.SizeLimit < 0 {
				errs.add(field+".emptyDir.sizeLimit", fmt.Sprint(v.EmptyDir.SizeLimit), "must not be negative")
			}
		}
	}
	for i, m := range p.members {
		c := m.spec
		field := fmt.Sprintf("containers[%d]", i)
		if c.Name != "" {
			field = fmt.Sprintf("container %q", c.Name)
		}
		if c.RootFS != "" {
			if !filepath.IsAbs(c.RootFS) {
				errs.add(field+".rootfs", c.RootFS, "must be an absolute path")
			} else if fi, err := os.Stat(c.RootFS); err != nil || !fi.IsDir() {
				errs.add(field+".rootfs", c.RootFS, "not an existing directory")
			}
		}
		paths := make(map[string]bool)
		for j, vm := range c.VolumeMounts {
			vf := fmt.Sprintf("%s.volumeMounts[%d]", field, j)
			if !names[vm.Name] {
				errs.add(vf+".name", vm.Name, "no volume of that name in the pod")
			}
			switch {
			case !filepath.IsAbs(vm.MountPath):
				errs.add(vf+".mountPath", vm.MountPath, "must be an absolute path")
			case containsDotDot(vm.MountPath):
				errs.add(vf+".mountPath", vm.MountPath, "must not contain '..'")
			case filepath.IsAbs(vm.SubPath):
				errs.add(vf+".subPath", vm.SubPath, "must be a relative path")
			case containsDotDot(vm.SubPath):
				errs.add(vf+".subPath", vm.SubPath, "must not contain '..'")
			case paths[filepath.Clean(vm.MountPath)]:
				errs.add(vf+".mountPath", vm.MountPath, "duplicate mount path")
			case c.Func != nil || c.SharedHostFilesystem:
				if fi, err := os.Stat(vm.MountPath); err != nil || !fi.IsDir() && !fi.Mode().IsRegular() {
					errs.add(vf+".mountPath", vm.MountPath, "does not exist on the host, and a container that shares the host's filesystem cannot create it")
				}
			}
			paths[filepath.Clean(vm.MountPath)] = true
		}
	}
}

// projected reports whether the pod's volume name is a ProjectedVolume,
// which containers mount read-only.
func (p *Pod) projected(name string) bool {
	for _, v := range p.spec.Volumes {
		if v.Name == name {
			return v.Projected != nil
		}
	}
	return false
}

func containsDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// VolumePath returns the directory on the host that holds the named volume
// while the pod runs, for the supervising program and its in-process
// containers. It fails with ErrNotRunning before the pod's sandbox exists
// and after the pod has finished (an emptyDir is removed then), and names
// an unknown volume.
func (p *Pod) VolumePath(name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return "", fmt.Errorf("pod %q: volume %q: %w", p.name, name, ErrNotRunning)
	default:
	}
	if p.infra == nil {
		return "", fmt.Errorf("pod %q: volume %q: %w", p.name, name, ErrNotRunning)
	}
	dir, ok := p.volumePaths[name]
	if !ok {
		return "", fmt.Errorf("pod %q: no volume %q", p.name, name)
	}
	return dir, nil
}
