package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount is a bind mount of a volume into a container.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"` // absolute, inside the container
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Filesystem is the mount namespace an init sets up for its container. The
// init runs in a new mount namespace of its own.
type Filesystem struct {
	// Rootfs, when set, is the directory that becomes the container's "/",
	// with /proc, a minimal /dev and /dev/shm mounted in it.
	Rootfs         string  `json:"rootfs,omitempty"`
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
	if err := mask(fs.Masks); err != nil {
		return err
	}
	root := fs.Rootfs
	if root != "" {
		if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind root filesystem %s: %w", root, err)
		}
		if err := mountSpecial(root); err != nil {
			return err
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
	if fs.ReadOnlyRootfs {
		if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make root filesystem read-only: %w", err)
		}
	}
	if err := pivot(root); err != nil {
		return err
	}
	return chdir(fs.Dir)
}

// mountSpecial mounts /proc, a minimal /dev and /dev/shm into root.
func mountSpecial(root string) error {
	for _, d := range []string{"proc", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return fmt.Errorf("root filesystem: %w", err)
		}
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	dev := filepath.Join(root, "dev")
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
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
	return nil
}

// bindMount binds m.Source at m.Target, inside root when root is set. In a
// root filesystem the mount point is created; on the host's filesystem it
// must exist.
func bindMount(root string, m Mount) error {
	target := m.Target
	if root != "" {
		target = filepath.Join(root, m.Target)
		if !strings.HasPrefix(target, filepath.Clean(root)+"/") {
			return fmt.Errorf("mount %s: escapes the root filesystem", m.Target)
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("mount %s: %w", m.Target, err)
		}
	}
	if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s at %s: %w", m.Source, m.Target, err)
	}
	if m.ReadOnly {
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mount %s read-only: %w", m.Target, err)
		}
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
