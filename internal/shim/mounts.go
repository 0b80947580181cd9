package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Mount is a bind mount of a volume into a container.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"` // absolute, inside the container
	ReadOnly bool   `json:"readOnly,omitempty"`
	// SubPath, when set, is a relative path inside Source that is mounted
	// instead of Source itself: a file or a directory, created as a
	// directory when it is missing. It is resolved inside Source, links
	// included, so a link a container planted in its volume cannot lead
	// the mount out of it.
	SubPath string `json:"subPath,omitempty"`
}

// Filesystem is the mount namespace an init sets up for its container. The
// init runs in a new mount namespace of its own.
type Filesystem struct {
	// Rootfs, when set, is the directory that becomes the container's "/",
	// with /proc, a minimal /dev, /dev/pts, /dev/shm and a read-only /sys
	// mounted in it.
	Rootfs string `json:"rootfs,omitempty"`
	// Layers, when set, are an image's read-only layer directories, bottom
	// first: the init mounts them on Rootfs (an empty directory) as an
	// overlay whose writable layer is Upper, with Work as overlayfs's work
	// directory (both empty, on one filesystem). The mount lives in the
	// init's mount namespace only, and ends with it.
	Layers []string `json:"layers,omitempty"`
	Upper  string   `json:"upper,omitempty"`
	Work   string   `json:"work,omitempty"`
	// HostUpper, when set without Layers, makes Rootfs (an empty
	// directory) a view of the host's filesystem whose writes go to
	// private writable layers under HostUpper (an empty directory), one
	// for each of the host's mounts: the container sees the host's files
	// and cannot change them. Masks are then hidden inside that view.
	HostUpper string `json:"hostUpper,omitempty"`
	// Files are files bound over paths of Rootfs, such as /etc/hosts; the
	// path is created in the root, replacing a symbolic link found there.
	Files          []Mount `json:"files,omitempty"`
	ReadOnlyRootfs bool    `json:"readOnlyRootfs,omitempty"`
	Mounts         []Mount `json:"mounts,omitempty"`
	// Dir is the working directory inside the container.
	Dir string `json:"dir,omitempty"`
	// Masks are host directories hidden under an empty read-only tmpfs
	// before anything else is mounted, so that no bind mount carries them
	// either; one that does not exist is skipped.
	Masks []string `json:"masks,omitempty"`
}

// Empty reports whether fs changes nothing.
func (fs Filesystem) Empty() bool {
	return fs.Rootfs == "" && len(fs.Mounts) == 0 && !fs.ReadOnlyRootfs && len(fs.Masks) == 0
}

// devices are bound from the host into a root filesystem's /dev.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// setup builds the container's filesystem in this process's (new) mount
// namespace, and moves into it.
func (fs Filesystem) setup() error {
	// Nothing done here may reach the host's mount namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	hostView := fs.Rootfs != "" && len(fs.Layers) == 0 && fs.HostUpper != ""
	if !hostView {
		if err := mask(fs.Masks); err != nil {
			return err
		}
	}
	root := fs.Rootfs
	var hostMounts []hostMount
	if root != "" {
		var err error
		switch {
		case len(fs.Layers) > 0:
			err = mountOverlay(root, fs.Layers, fs.Upper, fs.Work)
		case hostView:
			if hostMounts, err = mountHostLayer(root, fs.HostUpper, fs.Masks); err == nil {
				masks := make([]string, len(fs.Masks))
				for i, m := range fs.Masks {
					masks[i] = filepath.Join(root, m)
				}
				err = mask(masks)
			}
		default:
			if err = unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				err = fmt.Errorf("bind root filesystem %s: %w", root, err)
			}
		}
		if err != nil {
			return err
		}
		if err := mountSpecial(root); err != nil {
			return err
		}
		for _, f := range fs.Files {
			if err := bindFile(root, f); err != nil {
				return err
			}
		}
	}
	for _, m := range fs.Mounts {
		if err := bindMount(root, m); err != nil {
			return err
		}
	}
	if root == "" {
		if fs.ReadOnlyRootfs {
			if err := unix.Mount("/", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("make / read-only: %w", err)
			}
		}
		return chdir(fs.Dir)
	}
	if fs.Dir != "" {
		// A working directory the root lacks is created, as runc creates
		// it, inside the root and before it may turn read-only.
		if err := mountInRoot(root, fs.Dir, func(string) error { return nil }); err != nil {
			return fmt.Errorf("working directory %s: %w", fs.Dir, err)
		}
	}
	if fs.ReadOnlyRootfs {
		if len(hostMounts) == 0 {
			hostMounts = []hostMount{{target: root}}
		}
		// A remount sets every flag anew: each mount keeps its own.
		for _, m := range hostMounts {
			if err := unix.Mount(m.target, m.target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|m.flags, ""); err != nil {
				if m.target == root {
					return fmt.Errorf("make root filesystem read-only: %w", err)
				}
				return fmt.Errorf("make %s read-only: %w", strings.TrimPrefix(m.target, root), err)
			}
		}
	}
	if err := pivot(root); err != nil {
		return err
	}
	return chdir(fs.Dir)
}

// mountOverlay mounts layers (bottom first) with the writable layer upper on
// root. The layers are named relative to their common parent directory,
// entered for the mount, so that many layers fit in the one page the
// kernel takes for mount options.
func mountOverlay(root string, layers []string, upper, work string) error {
	parent := filepath.Dir(layers[0])
	lower := make([]string, len(layers))
	for i, l := range layers {
		// overlayfs lists the top layer first.
		j := len(layers) - 1 - i
		if filepath.Dir(l) == parent {
			lower[j] = filepath.Base(l)
		} else {
			lower[j] = l
		}
		if strings.ContainsAny(lower[j], ",:") {
			return fmt.Errorf("image layer %s: ',' and ':' cannot be passed to overlayfs", l)
		}
	}
	for _, d := range []string{upper, work} {
		if strings.ContainsAny(d, ",:") {
			return fmt.Errorf("overlay directory %s: ',' and ':' cannot be passed to overlayfs", d)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.Chdir(parent); err != nil {
		return fmt.Errorf("image layers: %w", err)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lower, ":"), upper, work)
	err = unix.Mount("overlay", root, "overlay", 0, opts)
	if cerr := os.Chdir(wd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mount the image's layers on %s: %w", root, err)
	}
	return nil
}

// bindFile binds the file f.Source at f.Target inside root, creating the
// target, resolved inside root, as an empty file.
func bindFile(root string, f Mount) error {
	rootDir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("root filesystem: %w", err)
	}
	defer rootDir.Close()
	parent, err := pathrs.MkdirAllHandle(rootDir, filepath.Dir(f.Target), 0o755)
	if err != nil {
		return fmt.Errorf("mount %s: cannot place it inside the root filesystem: %w", f.Target, err)
	}
	defer parent.Close()
	name := filepath.Base(f.Target)
	// O_NONBLOCK: a FIFO planted at the path does not hang the open.
	flags := unix.O_CREAT | unix.O_NOFOLLOW | unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd, err := unix.Openat(int(parent.Fd()), name, flags, 0o644)
	if errors.Is(err, unix.ELOOP) {
		// A link in the image (to ../run/..., say): the file replaces it
		// in the container's writable layer.
		if err = unix.Unlinkat(int(parent.Fd()), name, 0); err == nil {
			fd, err = unix.Openat(int(parent.Fd()), name, flags, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("mount %s: %w", f.Target, err)
	}
	defer unix.Close(fd)
	target := fmt.Sprintf("/proc/thread-self/fd/%d", fd)
	if err := unix.Mount(f.Source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount %s: %w", f.Target, err)
	}
	if !f.ReadOnly {
		return nil
	}
	// The remount goes through a descriptor opened after the bind, which
	// names the new mount; fd names the file under it.
	mounted, err := unix.Openat(int(parent.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mount %s: make it read-only: %w", f.Target, err)
	}
	defer unix.Close(mounted)
	target = fmt.Sprintf("/proc/thread-self/fd/%d", mounted)
	if err := unix.Mount(f.Source, target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("mount %s: make it read-only: %w", f.Target, err)
	}
	return nil
}

// mountSpecial mounts /proc, a minimal /dev with /dev/pts and /dev/shm, and
// a read-only /sys into root.
func mountSpecial(root string) error {
	if err := mountInRoot(root, "/proc", func(target string) error {
		return unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}); err != nil {
		return err
	}
	if err := mountInRoot(root, "/dev", func(target string) error {
		return unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k")
	}); err != nil {
		return err
	}
	// /dev is now a fresh tmpfs: nothing in it is the image's, and the
	// host paths below are safe to build lexically.
	dev := filepath.Join(root, "dev")
	for _, name := range devices {
		target := filepath.Join(dev, name)
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
		if err := unix.Mount("/dev/"+name, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", name, err)
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return fmt.Errorf("create /dev/shm: %w", err)
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	pts := filepath.Join(dev, "pts")
	if err := os.Mkdir(pts, 0o755); err != nil {
		return fmt.Errorf("create /dev/pts: %w", err)
	}
	// A new instance, private to the container: its terminals are not the
	// host's.
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mount /dev/pts: %w", err)
	}
	for name, target := range map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
	}
	return mountInRoot(root, "/sys", func(target string) error {
		err := unix.Mount("sysfs", target, "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
			// A pod in the host's network namespace cannot mount a sysfs
			// of its own: it gets the host's, read-only.
			if err = unix.Mount("/sys", target, "", unix.MS_BIND|unix.MS_REC, ""); err == nil {
				err = unix.Mount("/sys", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
			}
		}
		return err
	})
}

// bindMount binds m.Source at m.Target, inside root when root is set. In a
// root filesystem the mount point is created; on the host's filesystem it
// must exist.
func bindMount(root string, m Mount) error {
	if m.SubPath != "" {
		sub, err := openSubPath(m.Source, m.SubPath)
		if err != nil {
			return fmt.Errorf("mount %s: subPath %s: %w", m.Target, m.SubPath, err)
		}
		defer sub.Close()
		fi, err := sub.Stat()
		if err != nil {
			return fmt.Errorf("mount %s: subPath %s: %w", m.Target, m.SubPath, err)
		}
		// The descriptor's path names what was resolved: nothing can swap a
		// component of the subpath for a link before the mount.
		m.Source, m.SubPath = fmt.Sprintf("/proc/thread-self/fd/%d", sub.Fd()), ""
		if !fi.IsDir() && root != "" {
			return bindFile(root, m)
		}
	}
	if root == "" {
		if err := bindPath(m); err != nil {
			return fmt.Errorf("mount %s: %w", m.Target, err)
		}
		return nil
	}
	return mountInRoot(root, m.Target, func(target string) error {
		return attachTree(m, target)
	})
}

// bindPath binds m.Source at the path m.Target, read-only (the top mount)
// when m says so.
func bindPath(m Mount) error {
	if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", m.Source, err)
	}
	if m.ReadOnly {
		if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("make it read-only: %w", err)
		}
	}
	return nil
}

// attachTree binds a copy of the mount tree at m.Source (its submounts
// included, all read-only when m says so) onto target, a directory's
// descriptor path (/proc/thread-self/fd/N). The copy is made read-only
// before it is attached: a remount through target would reach the
// directory below the new mount, not the mount, and fail.
func attachTree(m Mount, target string) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, m.Source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("bind %s: %w", m.Source, err)
	}
	defer unix.Close(tree)
	if m.ReadOnly {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("make it read-only: %w", err)
		}
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_SYMLINKS); err != nil {
		return fmt.Errorf("bind %s: %w", m.Source, err)
	}
	return nil
}

// openSubPath opens sub inside the directory volume, every component
// resolved inside it, creating it as a directory (0755) when it does not
// exist, as the kubelet creates a missing subPath. The handle is O_PATH.
func openSubPath(volume, sub string) (*os.File, error) {
	vol, err := os.OpenFile(volume, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer vol.Close()
	f, err := pathrs.OpenatInRoot(vol, sub)
	// A missing component, or a link to one (which openat2 reports as
	// ENOTDIR), is created; MkdirAllHandle names what cannot be.
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		f, err = pathrs.MkdirAllHandle(vol, sub, 0o755)
	}
	return f, err
}

// mountInRoot creates the directory path inside root and calls mount with
// a name for it. Every component of path, symbolic links included, is
// resolved inside root, as runc does (github.com/cyphar/filepath-securejoin):
// a link to "/tmp/escape" or "../../.." in the image leads to root's own
// tmp/escape or to root, never to the host's. mount gets the path of the
// resolved directory's descriptor (/proc/thread-self/fd/N), so nothing can
// swap a component for a link between the resolution and the mount. A path
// that cannot be created inside root (a component that is a file, say) is
// an error naming path.
func mountInRoot(root, path string, mount func(target string) error) error {
	rootDir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("root filesystem: %w", err)
	}
	defer rootDir.Close()
	dir, err := pathrs.MkdirAllHandle(rootDir, path, 0o755)
	if err != nil {
		return fmt.Errorf("mount %s: cannot place it inside the root filesystem: %w", path, err)
	}
	defer dir.Close()
	if err := mount(fmt.Sprintf("/proc/thread-self/fd/%d", dir.Fd())); err != nil {
		return fmt.Errorf("mount %s: %w", path, err)
	}
	return nil
}

// pivot makes root the root of this mount namespace and detaches the old
// root, so nothing of the host's filesystem stays reachable; the way runc
// does it, without a directory for the old root.
func pivot(root string) error {
	if err := os.Chdir(root); err != nil {
		return fmt.Errorf("root filesystem: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	// The old root is now stacked on top of the new one: detach it.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("old root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return nil
}

func chdir(dir string) error {
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	return nil
}

// mask mounts an empty read-only tmpfs on each existing directory of dirs.
func mask(dirs []string) error {
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0,size=4k,nr_inodes=1"); err != nil {
			return fmt.Errorf("mask %s: %w", d, err)
		}
	}
	return nil
}
