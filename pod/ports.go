package pod

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/proxy"
)

// Port publishes a port of the pod on the host, like docker run -p or a
// Kubernetes hostPort: connections to HostIP:HostPort are forwarded to
// ContainerPort on the pod's loopback, through podkit's proxy (splice, half
// close, no buffering without bound). Start fails, before any container
// starts, if a host port cannot be listened on (in use, say). The ports
// stop accepting when the pod begins to stop, and their open connections
// are closed once its containers have all ended.
//
// A pod on the host's network (NetworkHost) has no loopback of its own, so
// nothing is proxied: as in Kubernetes its HostPort must equal its
// ContainerPort (zero means the same), and the container binds the host
// port itself. In every mode a proxy refuses to dial its own listener.
type Port struct {
	// ContainerPort is the port inside the pod. Required.
	ContainerPort int
	// HostPort is the port on the host; zero picks a free one (see
	// PublishedAddrs), or on the host's network means ContainerPort.
	HostPort int
	// HostIP is the host address to listen on. Empty means 127.0.0.1: a
	// published port is reachable from this machine only unless asked.
	HostIP string
	// TLS, when set, terminates TLS on the host's side: clients speak
	// HTTPS (or any TLS) to the host port, the pod gets plaintext. Not on
	// the host's network, where nothing is proxied.
	TLS *tls.Config
	// MaxConns bounds the connections open at once through the port:
	// beyond it the port stops accepting until one closes. Zero means
	// 1024; a negative value sets no bound.
	MaxConns int
	// IdleTimeout closes a connection through the port that has carried
	// no byte either way for this long. Zero means one hour; a negative
	// value never closes one.
	IdleTimeout time.Duration
}

// WithMetrics registers the metrics of the pod's published ports
// (podkit_proxy_..., labelled pod=<name>, port=<container port>) with r.
func WithMetrics(r prometheus.Registerer) Option {
	return optionFunc(func(c *config) { c.registerer = r })
}

func (pt Port) hostAddr() string {
	ip := pt.HostIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, strconv.Itoa(pt.HostPort))
}

func (p *Pod) validatePorts(errs *fieldErrors) {
	seen := map[string]bool{}
	for i, pt := range p.spec.Ports {
		field := fmt.Sprintf("ports[%d]", i)
		if pt.ContainerPort < 1 || pt.ContainerPort > 65535 {
			errs.add(field+".containerPort", strconv.Itoa(pt.ContainerPort), "must be a port number (1-65535)")
		}
		if pt.HostPort < 0 || pt.HostPort > 65535 {
			errs.add(field+".hostPort", strconv.Itoa(pt.HostPort), "must be a port number (1-65535), or 0 for any")
		}
		if pt.HostIP != "" && net.ParseIP(pt.HostIP) == nil {
			errs.add(field+".hostIP", pt.HostIP, "not an IP address")
		}
		if p.spec.Network.Mode == NetworkHost {
			if pt.HostPort != 0 && pt.HostPort != pt.ContainerPort {
				errs.add(field+".hostPort", strconv.Itoa(pt.HostPort),
					fmt.Sprintf("must equal containerPort (%d) on the host's network, where the container binds the host port itself", pt.ContainerPort))
			}
			if pt.TLS != nil {
				errs.add(field+".tls", "set", "not on the host's network, where nothing is proxied")
			}
			pt.HostPort = pt.ContainerPort
		}
		if pt.HostPort != 0 {
			if addr := pt.hostAddr(); seen[addr] {
				errs.add(field+".hostPort", addr, "published twice")
			} else {
				seen[addr] = true
			}
		}
	}
}

// publisher serves a pod's published ports.
type publisher struct {
	proxies []*proxy.Proxy
	addrs   []string // the host addresses, in the order of the ports
	served  sync.WaitGroup
}

// publishPorts listens on the pod's host ports and starts forwarding them.
// It fails, leaving nothing open, if a port cannot be listened on. On the
// host's network it only records the addresses: the containers bind them.
func (p *Pod) publishPorts() error {
	if len(p.spec.Ports) == 0 {
		return nil
	}
	pub := &publisher{}
	if p.spec.Network.Mode == NetworkHost {
		for _, pt := range p.spec.Ports {
			pt.HostPort = pt.ContainerPort
			pub.addrs = append(pub.addrs, pt.hostAddr())
		}
		p.mu.Lock()
		p.ports = pub
		p.mu.Unlock()
		return nil
	}
	sameNS, err := p.sharesNetNS()
	if err != nil {
		return fmt.Errorf("pod %q: publish ports: %w", p.name, err)
	}
	var lns []net.Listener
	fail := func(err error) error {
		for _, ln := range lns {
			ln.Close()
		}
		for _, px := range pub.proxies {
			px.Close()
		}
		return err
	}
	for _, pt := range p.spec.Ports {
		ln, err := net.Listen("tcp", pt.hostAddr())
		if err != nil {
			return fail(fmt.Errorf("pod %q: publish port %d: %w", p.name, pt.ContainerPort, err))
		}
		lns = append(lns, ln)
		self := ln.Addr().(*net.TCPAddr)
		px, err := proxy.New(proxy.Config{
			Upstreams: []proxy.Upstream{{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(pt.ContainerPort))}},
			Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if sameNS && reaches(addr, self) {
					return nil, fmt.Errorf("pod %q: port %d: %s is the proxy's own listener: refusing a loop", p.name, pt.ContainerPort, addr)
				}
				return p.DialContext(ctx, network, addr)
			},
			EjectAfter:  -1, // one upstream: never eject it
			MaxConns:    pt.MaxConns,
			IdleTimeout: pt.IdleTimeout,
			Registerer:  p.cfg.registerer,
			ConstLabels: prometheus.Labels{"pod": p.name, "port": strconv.Itoa(pt.ContainerPort)},
			Logger:      p.log.Named("port"),
		})
		if err != nil {
			return fail(fmt.Errorf("pod %q: publish port %d: %w", p.name, pt.ContainerPort, err))
		}
		pub.proxies = append(pub.proxies, px)
		pub.addrs = append(pub.addrs, ln.Addr().String())
		if pt.TLS != nil {
			lns[len(lns)-1] = tls.NewListener(ln, pt.TLS)
		}
	}
	for i, px := range pub.proxies {
		pub.served.Add(1)
		go func() {
			defer pub.served.Done()
			if err := px.Serve(lns[i]); err != nil && !errors.Is(err, proxy.ErrServerClosed) {
				p.log.Warn("published port failed", zap.Error(err))
			}
		}()
	}
	p.mu.Lock()
	p.ports = pub
	p.mu.Unlock()
	return nil
}

// sharesNetNS reports whether the pod's network namespace is the one the
// published ports listen in, this program's.
func (p *Pod) sharesNetNS() (bool, error) {
	p.mu.Lock()
	infra := p.infra
	p.mu.Unlock()
	var own, pods unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &own); err != nil {
		return false, err
	}
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", infra.Pid()), &pods); err != nil {
		return false, err
	}
	return own.Dev == pods.Dev && own.Ino == pods.Ino, nil
}

// reaches reports whether dialing addr, in the listener's network
// namespace, connects to the listener at ln: same port, and the same
// address or a listener on every address.
func reaches(addr string, ln *net.TCPAddr) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || int(ap.Port()) != ln.Port {
		return false
	}
	lip, ok := netip.AddrFromSlice(ln.IP)
	lip = lip.Unmap()
	return ok && (lip.IsUnspecified() || lip == ap.Addr().Unmap())
}

// PublishedAddrs returns the host addresses of the pod's published ports,
// in the order of Spec.Ports, once the pod has started (nil before):
// with HostPort zero, the port the system picked; on the host's network,
// HostIP (or 127.0.0.1) and ContainerPort, which the container binds.
func (p *Pod) PublishedAddrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ports == nil {
		return nil
	}
	return append([]string(nil), p.ports.addrs...)
}

// stopPorts makes the published ports refuse new connections, lets the
// open ones finish until ctx is done, closes what is left, and returns once
// the proxies are gone.
func (p *Pod) stopPorts(ctx context.Context) {
	p.mu.Lock()
	pub := p.ports
	p.mu.Unlock()
	if pub == nil {
		return
	}
	var wg sync.WaitGroup
	for _, px := range pub.proxies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := px.Shutdown(ctx); err != nil {
				px.Close()
			}
		}()
	}
	wg.Wait()
	pub.served.Wait()
}
