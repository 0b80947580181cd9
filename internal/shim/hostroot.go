package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// pseudoFilesystems are the kernel's filesystems that a container gets
// fresh ones of (proc, sysfs, devpts) or none of.
var pseudoFilesystems = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "cgroup": true, "cgroup2": true,
	"mqueue": true, "debugfs": true, "tracefs": true, "securityfs": true, "pstore": true, "bpf": true,
	"fusectl": true, "configfs": true, "hugetlbfs": true, "autofs": true, "binfmt_misc": true,
	"nsfs": true, "efivarfs": true, "rpc_pipefs": true, "selinuxfs": true,
}

// mountHostLayer builds on root a view of the host's filesystem (the mounts
// of this mount namespace) that the container can write without writing
// the host's: an overlay for each mount, with the mount as its only lower
// layer and a private writable layer under upper. A mount overlayfs cannot
// take as a layer (a bound file, a network filesystem, a path it cannot
// name) is bound read-only instead. The kernel's pseudo-filesystems and
// whatever lies under /proc, /sys and /dev are left out: mountSpecial mounts
// the container's own. So are root itself and the mounts under each of
// hide, which the caller masks. Each mount keeps the host mount's nosuid,
// nodev, noexec and ro: a setuid program on a nosuid mount of the host
// gains nothing in the view either. It returns the mounts it made, in
// order.
func mountHostLayer(root, upper string, hide []string) ([]hostMount, error) {
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("host filesystem: %w", err)
	}
	under := func(path, dir string) bool {
		return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
	}
	var made []hostMount
	for i, m := range mounts {
		p := m.Mountpoint
		if pseudoFilesystems[m.FSType] || under(p, "/proc") || under(p, "/sys") || under(p, "/dev") || under(p, root) {
			continue
		}
		hidden := false
		for _, h := range hide {
			hidden = hidden || (p != "/" && under(p, h))
		}
		if hidden {
			continue
		}
		target := root + p
		if p == "/" {
			target = root
		}
		flags := mountFlags(m.Options)
		if err := overlayHostMount(p, target, filepath.Join(upper, strconv.Itoa(i)), flags); err != nil {
			if p == "/" {
				return nil, err
			}
			if err := bindReadOnly(p, target, flags); err != nil {
				// A mount point the container's view lacks (a mount on
				// a file that the layer below hides, say) is left out.
				if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
					continue
				}
				return nil, fmt.Errorf("host filesystem: %s: %w", p, err)
			}
		}
		made = append(made, hostMount{target: target, flags: flags})
	}
	return made, nil
}

// hostMount is a mount of a view of the host's filesystem: its mount point
// and the host mount's flags it keeps.
type hostMount struct {
	target string
	flags  uintptr
}

// mountFlags returns the flags among a mount's options (a mountinfo
// field, "rw,nosuid,nodev,relatime") that its view keeps.
func mountFlags(options string) uintptr {
	var flags uintptr
	for _, o := range strings.Split(options, ",") {
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		}
	}
	return flags
}

// overlayHostMount mounts the host's mount at source on target as the lower
// layer of an overlay whose writable layer is dir/upper, with flags.
func overlayHostMount(source, target, dir string, flags uintptr) error {
	fi, err := os.Stat(source)
	if err != nil {
		return err
	}
	if !fi.IsDir() || strings.ContainsAny(source, ",:") || strings.ContainsAny(dir, ",:") {
		return fmt.Errorf("%s: overlayfs cannot take it as a layer", source)
	}
	up, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{dir, up, work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	// The writable layer's top directory stands for the mount's: it takes
	// its owner and mode.
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(up, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err := os.Chmod(up, fi.Mode()&(os.ModePerm|os.ModeSticky|os.ModeSetgid|os.ModeSetuid)); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", source, up, work)
	if err := unix.Mount("overlay", target, "overlay", flags, opts); err != nil {
		return fmt.Errorf("overlay %s: %w", source, err)
	}
	return nil
}

// bindReadOnly binds source at target, read-only, with flags.
func bindReadOnly(source, target string, flags uintptr) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	return unix.Mount(source, target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|flags, "")
}
