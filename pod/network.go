package pod

import (
	"fmt"
	"net/netip"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/podnet"
	"github.com/podkit/podkit/internal/proc"
)

// NetworkMode says how a pod's network is connected.
type NetworkMode string

const (
	// NetworkIsolated gives the pod a network namespace of its own with
	// only its loopback: its containers reach each other on 127.0.0.1 and
	// nothing else, and nothing outside reaches them except through
	// DialContext, Listen and ambassadors. The default.
	NetworkIsolated NetworkMode = "Isolated"
	// NetworkHost gives the pod no network namespace, like Kubernetes'
	// hostNetwork: its containers use the host's interfaces, ports and
	// loopback, and so do its probes, hooks, DialContext and Listen.
	NetworkHost NetworkMode = "Host"
	// NetworkBridged gives the pod a network namespace of its own, with its
	// loopback and eth0, one end of a veth pair whose other end is on the
	// host: the host reaches the pod at Status.PodIP, the pod reaches the
	// host at Status.HostIP, its default gateway. Nothing is routed or
	// translated beyond the host.
	NetworkBridged NetworkMode = "Bridged"
)

// Network configures a pod's network (Spec.Network). The zero value is an
// isolated pod: its own network namespace with only a loopback.
// NetworkHost puts the pod in the host's network namespace, as Kubernetes'
// hostNetwork does, but keeps its own UTS namespace and hostname.
// NetworkBridged adds a veth pair between the pod and the host, addressed
// from Subnet, with no NAT: the pod reaches the host, the host reaches the
// pod, and anything beyond the host is reached through an ambassador.
type Network struct {
	// Mode is the pod's network mode; empty means NetworkIsolated.
	Mode NetworkMode
	// Subnet, for NetworkBridged only, is the IPv4 /30 or /31 shared by the
	// two ends of the veth pair, given by its first address: the host's
	// end gets its first usable address, the pod's end the second. It must
	// overlap no address or route of the host. The zero Prefix picks the
	// first /30 of 10.213.0.0/16 that overlaps none, which also keeps it
	// apart from the other bridged pods of the machine.
	Subnet netip.Prefix
}

func (n Network) validate(errs *fieldErrors) {
	switch n.Mode {
	case NetworkIsolated, NetworkHost, NetworkBridged:
	default:
		errs.add("network.mode", string(n.Mode), `must be "Isolated", "Host" or "Bridged"`)
	}
	if !n.Subnet.IsValid() {
		if n.Subnet != (netip.Prefix{}) {
			errs.add("network.subnet", n.Subnet.String(), "not a prefix")
		}
		return
	}
	if n.Mode != NetworkBridged {
		errs.add("network.subnet", n.Subnet.String(), "only a Bridged network has a subnet")
		return
	}
	if err := podnet.ValidSubnet(n.Subnet); err != nil {
		errs.add("network.subnet", n.Subnet.String(), err.Error())
	}
}

// loopbackIP is where a host-network pod's servers are reached from the
// host, and the host's from the pod.
const loopbackIP = "127.0.0.1"

// sandboxNamespaces are the namespaces the infra creates and every
// container joins: network (unless the pod uses the host's), UTS and IPC.
func (p *Pod) sandboxNamespaces() int {
	if p.spec.Network.Mode == NetworkHost {
		return unix.CLONE_NEWUTS | unix.CLONE_NEWIPC
	}
	return unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC
}

// setupNetwork connects the network namespace of infra, which is running,
// as the pod's mode asks, and records the pod's addresses. On error nothing
// is left of the connection.
func (p *Pod) setupNetwork(infra *proc.Process) error {
	var podIP, hostIP string
	switch p.spec.Network.Mode {
	case NetworkHost:
		podIP, hostIP = loopbackIP, loopbackIP
	case NetworkBridged:
		removed, err := podnet.CleanupStale()
		if err != nil {
			p.log.Warn("cannot remove stale veth links", zap.Error(err))
		}
		if len(removed) > 0 {
			p.log.Info("removed veth links left by pods whose supervisor died", zap.Strings("links", removed))
		}
		link, err := podnet.Setup(p.ownerName, infra.PidFD(), p.spec.Network.Subnet)
		if err != nil {
			return fmt.Errorf("pod %q: bridged network: %w", p.name, err)
		}
		p.mu.Lock()
		p.link = link
		p.mu.Unlock()
		podIP, hostIP = link.PodAddr.String(), link.HostAddr.String()
		p.log.Debug("bridged network set up", zap.String("link", link.Host),
			zap.Stringer("subnet", link.Subnet), zap.String("podIP", podIP))
	}
	p.mu.Lock()
	p.status.PodIP, p.status.HostIP = podIP, hostIP
	p.mu.Unlock()
	p.podIP, p.hostIP = podIP, hostIP
	return nil
}

// removeNetwork deletes the pod's veth pair, if it has one: the kernel
// would delete it with the pod's network namespace, but a socket made by
// Listen or DialContext, or a process that escaped, can keep that alive.
func (p *Pod) removeNetwork() error {
	p.mu.Lock()
	link := p.link
	p.link = nil
	p.status.PodIP, p.status.HostIP = "", ""
	p.mu.Unlock()
	if link == nil {
		return nil
	}
	if err := podnet.Remove(link.Host, p.ownerName); err != nil {
		return fmt.Errorf("pod %q: %w", p.name, err)
	}
	return nil
}
