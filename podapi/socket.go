package podapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// socketName is the file name of a pod's socket in its own directory,
// dir/<pod name>/. A pod name may be 253 bytes long, more than a socket
// address holds (108 bytes), so the socket is bound and dialled through
// /proc/self/fd/N/api.sock, N a descriptor of its directory: the address
// is short whatever the lengths of the run directory and of the name.
const socketName = "api.sock"

// ErrUnsafeDir is returned (wrapped) when a run directory, or a pod's
// directory in it, could be changed by a user other than the caller and
// root: a server there could be another user's, and a pod's socket could
// be replaced.
var ErrUnsafeDir = errors.New("unsafe run directory")

// checkName reports what makes name unusable as a directory name.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("podapi: pod name %q: not a name", name)
	case len(name) > 253:
		return fmt.Errorf("podapi: pod name %q: longer than 253 bytes", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("podapi: pod name %q: must not hold '/' or NUL", name)
	}
	return nil
}

// checkDir checks that dir is a directory (not a symbolic link) owned by
// owner (or by root, when rootToo) that no one else may write, and that every directory above it is owned by
// root or owner and writable by no one else unless sticky, so that no
// other user can replace dir or what is in it.
func checkDir(dir string, owner int, rootToo bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("podapi: %w", err)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return fmt.Errorf("podapi: %w", err)
	}
	for p := parent; ; p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return fmt.Errorf("podapi: %s: %w", p, err)
		}
		if st.Uid != 0 && int(st.Uid) != owner {
			return fmt.Errorf("podapi: %s: owned by uid %d, neither root nor uid %d: %w", p, st.Uid, owner, ErrUnsafeDir)
		}
		if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
			return fmt.Errorf("podapi: %s: writable by others (mode %04o): %w", p, st.Mode&0o7777, ErrUnsafeDir)
		}
		if p == "/" {
			break
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(parent, filepath.Base(abs)), &st); err != nil {
		return fmt.Errorf("podapi: %w", &os.PathError{Op: "lstat", Path: dir, Err: err})
	}
	return checkOwned(dir, &st, owner, rootToo, 0o022)
}

// checkOwned checks that st is a directory owned by owner (or root, when
// rootToo) with none of the permission bits in closed.
func checkOwned(dir string, st *unix.Stat_t, owner int, rootToo bool, closed uint32) error {
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("podapi: %s: not a directory (a symbolic link is refused): %w", dir, ErrUnsafeDir)
	case int(st.Uid) != owner && !(rootToo && st.Uid == 0):
		return fmt.Errorf("podapi: %s: owned by uid %d, not by uid %d: %w", dir, st.Uid, owner, ErrUnsafeDir)
	case st.Mode&closed != 0:
		return fmt.Errorf("podapi: %s: mode %04o: must not grant %04o to group and others: %w", dir, st.Mode&0o7777, closed, ErrUnsafeDir)
	}
	return nil
}

// openPodDir opens dir/name without following a symbolic link, as an
// O_PATH descriptor, and checks that it is a directory owned by owner (or
// root, when rootToo) closed to group and others.
func openPodDir(dir, name string, owner int, rootToo bool) (*os.File, error) {
	path := filepath.Join(dir, name)
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, fmt.Errorf("podapi: %s: not a directory (a symbolic link is refused): %w", path, ErrUnsafeDir)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("podapi: %w", err)
	}
	if err := checkOwned(path, &st, owner, rootToo, 0o077); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// fdPath is the short path of the socket in the directory d.
func fdPath(d *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(d.Fd())) + "/" + socketName
}

// bindSocket creates a listening socket at the socket path of the
// directory d with mode 0600. The mode is set on the socket before bind,
// which creates the file with it (less the umask): no chmod of a path
// that could have become a symbolic link.
func bindSocket(d *os.File) (net.Listener, error) {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("podapi: socket: %w", err)
	}
	f := os.NewFile(uintptr(s), d.Name())
	defer f.Close() // FileListener keeps a duplicate
	if err := unix.Fchmod(s, 0o600); err != nil {
		return nil, fmt.Errorf("podapi: socket mode: %w", err)
	}
	if err := unix.Bind(s, &unix.SockaddrUnix{Name: fdPath(d)}); err != nil {
		return nil, fmt.Errorf("podapi: bind %s: %w", filepath.Join(d.Name(), socketName), err)
	}
	if err := unix.Listen(s, unix.SOMAXCONN); err != nil {
		return nil, fmt.Errorf("podapi: listen: %w", err)
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("podapi: %w", err)
	}
	return ln, nil
}

// dialSocket connects to the socket in the directory d.
func dialSocket(ctx context.Context, d *os.File) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, "unix", fdPath(d))
}

// peer is what the kernel says of the process at the other end of a Unix
// connection, read while that process is known to be the one that
// connected.
type peer struct {
	uid          int
	pidNS, mntNS nsID
	capEff       uint64
}

// nsID identifies a namespace: the device and inode of its /proc link.
type nsID struct{ dev, ino uint64 }

// self is this program's own peer description.
func self() (peer, error) { return readPeer("self", os.Geteuid()) }

// peerUID returns the effective uid of the process at the other end of c
// when it connected (the server's, seen from a client: it is the uid of
// the process that called listen).
func peerUID(c net.Conn) (int, error) {
	raw, err := syscallConn(c)
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return int(cred.Uid), nil
}

// connectedPeer describes the process that connected c. The process is
// pinned with a pidfd (SO_PEERPIDFD, or pidfd_open of SO_PEERCRED's PID on
// kernels before 6.5): its /proc files are read, then the pidfd must still
// reach a live process, so the PID was not reused by another process
// while they were read.
func connectedPeer(c net.Conn) (peer, error) {
	raw, err := syscallConn(c)
	if err != nil {
		return peer{}, err
	}
	var (
		cred   *unix.Ucred
		pidfd  = -1
		optErr error
	)
	if err := raw.Control(func(fd uintptr) {
		if cred, optErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); optErr != nil {
			return
		}
		if n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD); err == nil {
			pidfd = n
		}
	}); err != nil {
		return peer{}, err
	}
	if optErr != nil {
		return peer{}, optErr
	}
	if cred.Pid <= 0 {
		return peer{}, errors.New("the peer's process is not visible from this PID namespace")
	}
	if pidfd < 0 {
		if pidfd, err = unix.PidfdOpen(int(cred.Pid), 0); err != nil {
			return peer{}, fmt.Errorf("pidfd_open %d: %w", cred.Pid, err)
		}
	}
	defer unix.Close(pidfd)
	p, err := readPeer(strconv.Itoa(int(cred.Pid)), int(cred.Uid))
	if err != nil {
		return peer{}, err
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		return peer{}, fmt.Errorf("the peer's process has ended: %w", err)
	}
	return p, nil
}

func syscallConn(c net.Conn) (syscall.RawConn, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("not a Unix connection: %T", c)
	}
	return uc.SyscallConn()
}

// readPeer reads the namespaces and effective capabilities of the process
// /proc/<pid>.
func readPeer(pid string, uid int) (peer, error) {
	p := peer{uid: uid}
	var err error
	if p.pidNS, err = readNS(pid, "pid"); err != nil {
		return p, err
	}
	if p.mntNS, err = readNS(pid, "mnt"); err != nil {
		return p, err
	}
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return p, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			p.capEff, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return p, err
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	return p, fmt.Errorf("/proc/%s/status: no CapEff", pid)
}

func readNS(pid, kind string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+pid+"/ns/"+kind, &st); err != nil {
		return nsID{}, &os.PathError{Op: "stat", Path: "/proc/" + pid + "/ns/" + kind, Err: err}
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}

// allows reports why the server described by srv refuses the peer p, or
// nil when it accepts it: p must be root or the server's user, run in the
// server's PID and mount namespaces (so not in a container of any pod),
// and hold every capability the server holds (the API gives a caller no
// privilege it does not have already).
func (srv peer) allows(p peer) error {
	switch {
	case p.uid != 0 && p.uid != srv.uid:
		return fmt.Errorf("uid %d is neither root nor uid %d", p.uid, srv.uid)
	case p.pidNS != srv.pidNS:
		return errors.New("runs in another PID namespace")
	case p.mntNS != srv.mntNS:
		return errors.New("runs in another mount namespace")
	case p.capEff&srv.capEff != srv.capEff:
		return fmt.Errorf("lacks capabilities %#x", srv.capEff&^p.capEff)
	}
	return nil
}

// podListener accepts the connections its server allows (peer.allows), and
// removes the pod's socket and directory when closed.
type podListener struct {
	net.Listener
	srv       peer
	dir, path string
	// lock is the pod's directory, flocked while the server lives: a
	// directory nobody holds belongs to a dead supervisor (sweepStale).
	lock      *os.File
	closeOnce sync.Once
	closeErr  error
}

func (l *podListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p, err := connectedPeer(c)
		if err == nil && l.srv.allows(p) == nil {
			return c, nil
		}
		c.Close()
	}
}

// Close closes the listener and removes the socket and its directory.
func (l *podListener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.Listener.Close()
		_ = os.Remove(l.path)
		_ = os.Remove(l.dir)
		_ = l.lock.Close()
	})
	return l.closeErr
}

// Addr is the socket's path in the run directory.
func (l *podListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// lockPodDir creates the directory of the pod name in dir if needed and
// returns it opened with an exclusive flock, which the kernel releases
// when the supervisor exits, however it exits. A directory held by another
// server is a pod of that name running already. A directory sweepStale
// removed between its creation and the lock is made again.
func lockPodDir(dir, name string, owner int) (*os.File, error) {
	for range 3 {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("podapi: %w", err)
		}
		f, err := openPodDir(dir, name, owner, false)
		if err != nil {
			return nil, err
		}
		lock, err := reopenDir(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("podapi: %w", err)
		}
		// A sweep holds a directory's lock for a moment only; a live
		// server holds it for good.
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		for i := 0; i < 20 && errors.Is(err, unix.EWOULDBLOCK); i++ {
			time.Sleep(10 * time.Millisecond)
			err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		}
		if err != nil {
			lock.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("podapi: a pod named %q is running already (%s)", name, SocketPath(dir, name))
			}
			return nil, fmt.Errorf("podapi: lock %s: %w", filepath.Join(dir, name), err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(lock.Fd()), &st); err != nil {
			lock.Close()
			return nil, fmt.Errorf("podapi: %w", err)
		}
		if st.Nlink > 0 {
			return lock, nil
		}
		lock.Close() // removed by a sweep before the lock: make it again
	}
	return nil, fmt.Errorf("podapi: %s: removed again and again while being created", filepath.Join(dir, name))
}

// reopenDir opens the directory the O_PATH descriptor d names for
// reading: an O_PATH descriptor takes no flock.
func reopenDir(d *os.File) (*os.File, error) {
	return os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(d.Fd())), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// sweepStale removes the pod directories in dir whose supervisor is gone:
// nobody holds their lock and their socket, if any, does not answer. It
// is best effort: a directory it cannot judge or remove stays.
func sweepStale(dir string, owner int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		d, err := openPodDir(dir, e.Name(), owner, false)
		if err != nil {
			continue
		}
		lock, err := reopenDir(d)
		if err != nil {
			d.Close()
			continue
		}
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && !answers(d) {
			_ = unix.Unlinkat(int(d.Fd()), socketName, 0)
			_ = os.Remove(filepath.Join(dir, e.Name())) // only when empty
		}
		lock.Close()
		d.Close()
	}
}

// answers reports whether a server listens on the socket in the pod
// directory d (one of a podkit that took no lock, say).
func answers(d *os.File) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := dialSocket(ctx, d)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
