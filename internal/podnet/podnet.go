// Package podnet connects a pod's network namespace to the host with a veth
// pair, through github.com/vishvananda/netlink.
//
// One end of the pair is eth0 in the pod's namespace, the other is on the
// host, named from the pod's owner name (HostInterface) and carrying that
// name in its alias, so that a link left by a supervisor that died can be
// recognised and removed (CleanupStale), as stale cgroups are. The two ends
// share a point-to-point IPv4 subnet, a /30 or a /31: the host side has its
// first address, the pod side its second, and the pod's default route goes
// through the host side. Nothing is forwarded or translated beyond the host.
package podnet

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/owner"
	"github.com/podkit/podkit/internal/thread"
)

// PodInterface is the name of the pod's end of the pair.
const PodInterface = "eth0"

// DefaultRange is where Setup picks a subnet when it is given none.
var DefaultRange = netip.MustParsePrefix("10.213.0.0/16")

// defaultBits is the size of the subnets Setup picks: a /30, which every
// tool understands, where a /31 (RFC 3021) would save two addresses.
const defaultBits = 30

// aliasPrefix starts the alias of every host end podkit makes.
const aliasPrefix = "podkit:"

// maxAlias is the longest alias the kernel keeps (IFALIASZ - 1).
const maxAlias = 255

// lockFile serialises the choice of subnets between the supervisors of a
// machine: a subnet is chosen and its host address assigned under it.
const lockFile = "/run/podkit/network.lock"

// Link is a pod's veth pair as Setup configured it.
type Link struct {
	// Host is the name of the host's end.
	Host string
	// Subnet holds both ends' addresses.
	Subnet netip.Prefix
	// HostAddr is the host end's address, the pod's gateway; PodAddr the
	// pod end's.
	HostAddr, PodAddr netip.Addr
}

// HostInterface returns the name of the host end of the pod's pair: "pk"
// and 8 hex digits of a hash of the pod's owner name (see package owner),
// which fits the kernel's 15 characters. The owner name holds a random part,
// so two pods get different names.
func HostInterface(ownerName string) string {
	h := fnv.New32a()
	h.Write([]byte(ownerName))
	return fmt.Sprintf("pk%08x", h.Sum32())
}

// alias returns the host end's alias: the owner name after aliasPrefix, the
// pod's name in it cut if needed so that the supervisor's PID and start
// time, which owner.Alive reads, fit.
func alias(ownerName string) string {
	if len(aliasPrefix)+len(ownerName) > maxAlias {
		if i := strings.IndexByte(ownerName, '_'); i > 0 {
			keep := max(maxAlias-len(aliasPrefix)-len(ownerName[i:]), 0)
			ownerName = ownerName[:min(keep, i)] + ownerName[i:]
		}
	}
	return aliasPrefix + ownerName
}

// ValidSubnet reports why s cannot be a pod's subnet, or nil: it must be
// an IPv4 /30 or /31 given by its first address.
func ValidSubnet(s netip.Prefix) error {
	switch {
	case !s.IsValid():
		return errors.New("not a prefix")
	case !s.Addr().Is4():
		return errors.New("must be IPv4")
	case s.Bits() != 30 && s.Bits() != 31:
		return errors.New("must be a /30 or a /31")
	case s.Masked() != s:
		return fmt.Errorf("must start at its first address (%s)", s.Masked())
	}
	return nil
}

// addresses returns the host's and the pod's addresses in s: the first two
// usable ones.
func addresses(s netip.Prefix) (host, pod netip.Addr) {
	host = s.Addr()
	if s.Bits() == 30 {
		host = host.Next() // the first is the network's address
	}
	return host, host.Next()
}

// Setup connects the network namespace of the process behind pidfd (the
// pod's infra) to the namespace of the calling program with a veth pair
// named after ownerName, with subnet, or, when subnet is the zero Prefix, a
// /30 of DefaultRange that overlaps no address or route of the host. The
// pair is created with its pod end already in the pod's namespace, and
// configured there from a thread that has entered it. On error nothing is
// left behind.
func Setup(ownerName string, pidfd int, subnet netip.Prefix) (*Link, error) {
	if subnet.IsValid() {
		if err := ValidSubnet(subnet); err != nil {
			return nil, fmt.Errorf("podnet: subnet %s: %w", subnet, err)
		}
	}
	unlock, err := lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	var l *Link
	thread.Run(func() { l, err = setup(ownerName, pidfd, subnet) })
	if err != nil {
		return nil, fmt.Errorf("podnet: %w", err)
	}
	return l, nil
}

// setup does Setup's work on a thread it may move to the pod's namespace.
func setup(ownerName string, pidfd int, subnet netip.Prefix) (_ *Link, err error) {
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	defer host.Close()
	taken, err := usedPrefixes(host)
	if err != nil {
		return nil, err
	}
	if subnet.IsValid() {
		for _, t := range taken {
			if t.prefix.Overlaps(subnet) {
				return nil, fmt.Errorf("subnet %s overlaps %s", subnet, t)
			}
		}
	} else if subnet, err = pick(DefaultRange, defaultBits, taken); err != nil {
		return nil, err
	}

	// Enter the pod's namespace, and open it: the namespace file is what
	// netlink takes to create the pair's peer there.
	if err := unix.Setns(pidfd, unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter the pod's network namespace: setns: %w", err)
	}
	nsfd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the pod's network namespace: %w", err)
	}
	defer unix.Close(nsfd)
	inPod, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink in the pod's namespace: %w", err)
	}
	defer inPod.Close()

	l := &Link{Host: HostInterface(ownerName), Subnet: subnet}
	l.HostAddr, l.PodAddr = addresses(subnet)
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: l.Host},
		PeerName:      PodInterface,
		PeerNamespace: netlink.NsFd(nsfd),
	}
	if err := host.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("create veth pair %s/%s: %w", l.Host, PodInterface, err)
	}
	defer func() {
		if err != nil {
			// Removing one end removes the pair.
			if derr := host.LinkDel(veth); derr != nil {
				err = errors.Join(err, fmt.Errorf("remove veth %s: %w", l.Host, derr))
			}
		}
	}()
	hostEnd, err := host.LinkByName(l.Host)
	if err != nil {
		return nil, fmt.Errorf("find veth %s: %w", l.Host, err)
	}
	// The kernel ignores an alias given at creation. Should this program
	// die before the alias is set, the pair goes with the pod's namespace,
	// which nothing else holds yet.
	if err := host.LinkSetAlias(hostEnd, alias(ownerName)); err != nil {
		return nil, fmt.Errorf("set alias of veth %s: %w", l.Host, err)
	}
	if err := configure(host, hostEnd, l.HostAddr, subnet.Bits()); err != nil {
		return nil, fmt.Errorf("host end %s: %w", l.Host, err)
	}
	podEnd, err := inPod.LinkByName(PodInterface)
	if err != nil {
		return nil, fmt.Errorf("find %s in the pod: %w", PodInterface, err)
	}
	if err := configure(inPod, podEnd, l.PodAddr, subnet.Bits()); err != nil {
		return nil, fmt.Errorf("pod end %s: %w", PodInterface, err)
	}
	route := &netlink.Route{LinkIndex: podEnd.Attrs().Index, Gw: net.IP(l.HostAddr.AsSlice())}
	if err := inPod.RouteAdd(route); err != nil {
		return nil, fmt.Errorf("pod end %s: add default route via %s: %w", PodInterface, l.HostAddr, err)
	}
	return l, nil
}

// configure gives link its address and brings it up.
func configure(h *netlink.Handle, link netlink.Link, a netip.Addr, bits int) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(bits, 32)}}
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("add address %s/%d: %w", a, bits, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring up: %w", err)
	}
	return nil
}

// used is a prefix the host already uses, and where.
type used struct {
	prefix netip.Prefix
	where  string
}

func (u used) String() string { return u.prefix.String() + " (" + u.where + ")" }

// usedPrefixes lists the prefixes of the host's IPv4 addresses and of its
// main routing table's routes other than default ones.
func usedPrefixes(h *netlink.Handle) ([]used, error) {
	var out []used
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("list the host's addresses: %w", err)
	}
	names := map[int]string{}
	if links, err := retryDump(h.LinkList); err == nil {
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok {
			where := "address " + a.IPNet.String()
			if n := names[a.LinkIndex]; n != "" {
				where += " of " + n
			}
			out = append(out, used{p.Masked(), where})
		}
	}
	routes, err := retryDump(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("list the host's routes: %w", err)
	}
	for _, r := range routes {
		if p, ok := prefixOf(r.Dst); ok && p.Bits() > 0 {
			out = append(out, used{p.Masked(), "route to " + p.Masked().String()})
		}
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// pick returns the first /bits of r that overlaps nothing in taken.
func pick(r netip.Prefix, bits int, taken []used) (netip.Prefix, error) {
	r = r.Masked()
	step := uint32(1) << (32 - bits)
	base := r.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	count := uint64(1) << (bits - r.Bits())
next:
	for i := range count {
		n := start + uint32(i)*step
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), bits)
		for _, t := range taken {
			if t.prefix.Overlaps(p) {
				continue next
			}
		}
		return p, nil
	}
	return netip.Prefix{}, fmt.Errorf("no free /%d left in %s: set the pod's subnet", bits, r)
}

// retryDump calls list again while the kernel reports that the dump was
// interrupted by a change, which may make it inconsistent.
func retryDump[T any](list func() ([]T, error)) ([]T, error) {
	var (
		out []T
		err error
	)
	for range 10 {
		if out, err = list(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, err
}

// lock takes lockFile, waiting for other supervisors.
func lock() (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(lockFile), 0o755); err != nil {
		return nil, fmt.Errorf("podnet: %w", err)
	}
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("podnet: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("podnet: lock %s: %w", lockFile, err)
	}
	// Closing the file releases the lock.
	return func() { f.Close() }, nil
}

// Remove deletes the host end named name, and with it the pod's end, if it
// still exists and was made for ownerName. The kernel removes the pair by
// itself once the pod's namespace is gone, but a socket or a file can keep
// the namespace alive.
func Remove(name, ownerName string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			return nil
		}
		return fmt.Errorf("podnet: find veth %s: %w", name, err)
	}
	if link.Attrs().Alias != alias(ownerName) {
		return nil // another program's, or reused
	}
	if err := del(link); err != nil {
		return fmt.Errorf("podnet: remove veth %s: %w", name, err)
	}
	return nil
}

// del removes link; one that the kernel removed meanwhile is not an error.
func del(link netlink.Link) error {
	err := netlink.LinkDel(link)
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// CleanupStale removes the host ends of the pairs whose supervising program
// is no longer running, as their aliases tell, and returns their names.
func CleanupStale() ([]string, error) {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("podnet: list links: %w", err)
	}
	var (
		removed []string
		errs    []error
	)
	for _, l := range links {
		ownerName, ok := strings.CutPrefix(l.Attrs().Alias, aliasPrefix)
		if !ok || l.Type() != "veth" || !strings.HasPrefix(l.Attrs().Name, "pk") || owner.Alive(ownerName) {
			continue
		}
		if err := del(l); err != nil {
			errs = append(errs, fmt.Errorf("remove veth %s: %w", l.Attrs().Name, err))
			continue
		}
		removed = append(removed, l.Attrs().Name)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("podnet: %w", err)
	}
	return removed, nil
}
