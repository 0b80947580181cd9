package pod_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

func TestHostNetwork(t *testing.T) {
	requireRoot(t)
	port := testenv.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	server, senv := helperCommand(t, "listen", addr)
	p, rec, _ := startPod(t, "host-net", pod.Spec{
		Network:  pod.Network{Mode: pod.NetworkHost},
		Hostname: "on-host",
		Containers: []pod.Container{{Name: "server", Command: server, Env: senv,
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: port}, Period: 50 * time.Millisecond}}},
	})
	rec.until("server ready", isReason(pod.EventReady, "server"))

	// The container is in this program's network namespace, and in the
	// pod's own UTS namespace.
	st := p.Status()
	c, _ := st.Container("server")
	assert.Equal(t, namespaceOf(t, os.Getpid(), "net"), namespaceOf(t, c.PID, "net"))
	assert.Equal(t, namespaceOf(t, os.Getpid(), "net"), namespaceOf(t, st.InfraPID, "net"))
	assert.NotEqual(t, namespaceOf(t, os.Getpid(), "uts"), namespaceOf(t, c.PID, "uts"))
	assert.Equal(t, "127.0.0.1", st.PodIP)
	assert.Equal(t, "127.0.0.1", st.HostIP)

	// The host reaches the server on its own loopback, and so does
	// DialContext.
	assert.Equal(t, "hello from on-host\n", greeting(t, net.Dial, addr))
	assert.Equal(t, "hello from on-host\n", greeting(t, func(network, addr string) (net.Conn, error) {
		return p.DialContext(context.Background(), network, addr)
	}, addr))

	// The container reaches a server of the host's loopback.
	ln := serve(t, "127.0.0.1:0", "hello from the host")
	var out strings.Builder
	require.NoError(t, p.Exec(context.Background(), "server", helperExec(t, &out, "dial", ln.Addr().String())))
	assert.Equal(t, "hello from the host\n", out.String())
}

func TestBridgedNetwork(t *testing.T) {
	requireRoot(t)
	server, senv := helperCommand(t, "listen", "0.0.0.0:7080")
	start := func(name string) *pod.Pod {
		p, rec, _ := startPod(t, name, pod.Spec{
			Network:    pod.Network{Mode: pod.NetworkBridged},
			Containers: []pod.Container{{Name: "server", Command: server, Env: senv}},
		})
		rec.until("running", isPhase(pod.PhaseRunning))
		waitLogs(t, p, "server", 1)
		return p
	}
	a, b := start("bridged-a"), start("bridged-b")

	// Two pods at once get subnets apart.
	sa, sb := subnetOf(t, a), subnetOf(t, b)
	assert.False(t, sa.Overlaps(sb), "%s and %s overlap", sa, sb)
	for _, p := range []*pod.Pod{a, b} {
		st := p.Status()
		// The host reaches the pod's server at the pod's address, and
		// the pod its host's at the host side's.
		assert.Equal(t, "hello from "+p.Name()+"\n", greeting(t, net.Dial, net.JoinHostPort(st.PodIP, "7080")))
		ln := serve(t, net.JoinHostPort(st.HostIP, "0"), "hello from the host")
		var out strings.Builder
		require.NoError(t, p.Exec(context.Background(), "server", helperExec(t, &out, "dial", ln.Addr().String())))
		assert.Equal(t, "hello from the host\n", out.String())
		ln.Close()

		// The pod has its loopback and eth0, with its address and a
		// default route through the host side.
		out.Reset()
		cmd := exec.Command("cat", "/proc/net/route")
		cmd.Stdout = &out
		require.NoError(t, p.Exec(context.Background(), "server", cmd))
		assert.Regexp(t, `(?m)^eth0\s+00000000\s+`, out.String(), "no default route through eth0")
	}

	// The host end is a veth, up, with the host side's address, named for
	// the pod.
	links := podLinks(t, "bridged-a")
	require.Len(t, links, 1)
	link := links[0]
	assert.Equal(t, "veth", link.Type())
	assert.LessOrEqual(t, len(link.Attrs().Name), 15)
	assert.True(t, strings.HasPrefix(link.Attrs().Name, "pk"), link.Attrs().Name)
	assert.NotZero(t, link.Attrs().Flags&net.FlagUp)
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	require.NoError(t, err)
	require.Len(t, addrs, 1)
	assert.Equal(t, a.Status().HostIP, addrs[0].IP.String())

	// A socket made in the pod's namespace keeps it alive past the pod:
	// the veth goes anyway.
	ln, err := a.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	stopPod(t, a)
	assert.Empty(t, podLinks(t, "bridged-a"), "the veth outlived its pod")
	st := a.Status()
	assert.Empty(t, st.PodIP)
	assert.Empty(t, st.HostIP)
	stopPod(t, b)
	assert.Empty(t, podLinks(t, "bridged-b"), "the veth outlived its pod")
}

func TestBridgedSubnet(t *testing.T) {
	requireRoot(t)
	server, senv := helperCommand(t, "listen", "0.0.0.0:7081")
	subnet := netip.MustParsePrefix("10.213.254.6/31")
	p, rec, _ := startPod(t, "slash31", pod.Spec{
		Network:    pod.Network{Mode: pod.NetworkBridged, Subnet: subnet},
		Containers: []pod.Container{{Name: "server", Command: server, Env: senv}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	waitLogs(t, p, "server", 1)
	st := p.Status()
	assert.Equal(t, "10.213.254.6", st.HostIP)
	assert.Equal(t, "10.213.254.7", st.PodIP)
	assert.Equal(t, "hello from slash31\n", greeting(t, net.Dial, "10.213.254.7:7081"))

	// A subnet in use is refused at Start, and the failed start leaves
	// no link behind.
	q, err := pod.New("overlap", pod.Spec{
		Network:    pod.Network{Mode: pod.NetworkBridged, Subnet: netip.MustParsePrefix("10.213.254.4/30")},
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	require.NoError(t, err)
	err = q.Run(context.Background())
	require.ErrorContains(t, err, "bridged network: podnet: subnet 10.213.254.4/30 overlaps 10.213.254.6/31")
	assert.Empty(t, podLinks(t, "overlap"))
	assert.Equal(t, pod.PhaseFailed, q.Status().Phase)
}

// TestBridgedSupervisorKilled kills, with SIGKILL, a program running a
// bridged pod whose network namespace something else keeps alive, so that
// the kernel cannot remove the veth pair: the next bridged pod's start does.
func TestBridgedSupervisorKilled(t *testing.T) {
	requireRoot(t)
	argv, env := helperCommand(t, "bridged-supervisor")
	cmd := execCommand(argv, env)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	fields := strings.Fields(line)
	require.Len(t, fields, 2, "supervisor said %q", line)
	infra, _ := strconv.Atoi(fields[0])
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", infra))
	require.NoError(t, err)
	defer ns.Close()
	links := podLinks(t, "orphaned-net")
	require.Len(t, links, 1)
	stale := links[0].Attrs().Name

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return unix.Kill(infra, 0) != nil }, 10*time.Second, 5*time.Millisecond,
		"the infra outlived its supervisor")
	_, err = netlink.LinkByName(stale)
	require.NoError(t, err, "the veth went with the supervisor: the test proves nothing")

	p, rec, _ := startPod(t, "next", pod.Spec{
		Network:    pod.Network{Mode: pod.NetworkBridged},
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	_, err = netlink.LinkByName(stale)
	require.ErrorAs(t, err, &netlink.LinkNotFoundError{}, "the stale veth was not removed")
	assert.NotEmpty(t, p.Status().PodIP)
}

func TestIsolatedNetworkStatus(t *testing.T) {
	p, rec, _ := startPod(t, "isolated-status", pod.Spec{
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
	})
	rec.until("running", isPhase(pod.PhaseRunning))
	st := p.Status()
	assert.Empty(t, st.PodIP)
	assert.Empty(t, st.HostIP)
	assert.Equal(t, pod.NetworkIsolated, p.Spec().Network.Mode)
	c, _ := st.Container("c")
	assert.NotEqual(t, namespaceOf(t, os.Getpid(), "net"), namespaceOf(t, c.PID, "net"))
}

func TestNetworkValidation(t *testing.T) {
	tests := []struct {
		network pod.Network
		want    string
	}{
		{pod.Network{Mode: "Overlay"}, `network.mode: invalid value "Overlay": must be "Isolated", "Host" or "Bridged"`},
		{pod.Network{Mode: pod.NetworkIsolated, Subnet: netip.MustParsePrefix("10.1.0.0/30")}, `network.subnet: invalid value "10.1.0.0/30": only a Bridged network has a subnet`},
		{pod.Network{Mode: pod.NetworkHost, Subnet: netip.MustParsePrefix("10.1.0.0/30")}, `network.subnet: invalid value "10.1.0.0/30": only a Bridged network has a subnet`},
		{pod.Network{Mode: pod.NetworkBridged, Subnet: netip.MustParsePrefix("10.1.0.0/29")}, `network.subnet: invalid value "10.1.0.0/29": must be a /30 or a /31`},
		{pod.Network{Mode: pod.NetworkBridged, Subnet: netip.MustParsePrefix("10.1.0.1/30")}, `network.subnet: invalid value "10.1.0.1/30": must start at its first address (10.1.0.0/30)`},
		{pod.Network{Mode: pod.NetworkBridged, Subnet: netip.MustParsePrefix("fd00::/127")}, `network.subnet: invalid value "fd00::/127": must be IPv4`},
		{pod.Network{Mode: pod.NetworkBridged, Subnet: netip.PrefixFrom(netip.MustParseAddr("10.1.0.0"), 33)}, `network.subnet: invalid value "invalid Prefix": not a prefix`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := pod.New("p", pod.Spec{
				Network:    tt.network,
				Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
			})
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			require.ErrorContains(t, err, tt.want)
		})
	}
	for _, ok := range []pod.Network{
		{},
		{Mode: pod.NetworkHost},
		{Mode: pod.NetworkBridged},
		{Mode: pod.NetworkBridged, Subnet: netip.MustParsePrefix("192.168.7.8/30")},
		{Mode: pod.NetworkBridged, Subnet: netip.MustParsePrefix("192.168.7.10/31")},
	} {
		_, err := pod.New("p", pod.Spec{
			Network:    ok,
			Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
		})
		assert.NoError(t, err, "%+v", ok)
	}
}

// greeting reads the first line a server sends, retrying the dial for a
// while.
func greeting(t *testing.T, dial func(network, addr string) (net.Conn, error), addr string) string {
	t.Helper()
	var (
		c   net.Conn
		err error
	)
	require.Eventually(t, func() bool {
		c, err = dial("tcp", addr)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "dial %s", addr)
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	return line
}

// serve listens on addr, in this program's network namespace, and greets
// every connection with hello, until the test ends.
func serve(t *testing.T, addr, hello string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, hello)
			c.Close()
		}
	}()
	return ln
}

// helperExec returns a command for Exec running a test helper.
func helperExec(t *testing.T, out *strings.Builder, name string, args ...string) *exec.Cmd {
	t.Helper()
	argv, env := helperCommand(t, name, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout = out
	return cmd
}

// podLinks returns the host ends of the veth pairs of the pods named pod
// run by this program.
func podLinks(t *testing.T, podName string) []netlink.Link {
	t.Helper()
	links, err := netlink.LinkList()
	require.NoError(t, err)
	var out []netlink.Link
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Alias, "podkit:"+podName+"_") {
			out = append(out, l)
		}
	}
	return out
}

// subnetOf returns the subnet of a bridged pod's link.
func subnetOf(t *testing.T, p *pod.Pod) netip.Prefix {
	t.Helper()
	links := podLinks(t, p.Name())
	require.Len(t, links, 1)
	addrs, err := netlink.AddrList(links[0], netlink.FAMILY_V4)
	require.NoError(t, err)
	require.Len(t, addrs, 1)
	ones, _ := addrs[0].Mask.Size()
	a, _ := netip.AddrFromSlice(addrs[0].IP.To4())
	return netip.PrefixFrom(a, ones).Masked()
}

// stopPod stops a pod started by startPod and waits for it.
func stopPod(t *testing.T, p *pod.Pod) {
	t.Helper()
	p.Kill()
	_ = p.Wait()
}

// BenchmarkNetworkModes runs a pod of one container that exits at once, in
// each network mode: the bridged pod's veth pair costs its setup at Start
// and, mostly, the kernel's removal of the pair at the end.
func BenchmarkNetworkModes(b *testing.B) {
	requireRoot(b)
	for _, mode := range []pod.NetworkMode{pod.NetworkIsolated, pod.NetworkHost, pod.NetworkBridged} {
		b.Run(string(mode), func(b *testing.B) {
			var start time.Duration
			for b.Loop() {
				p, err := pod.New("bench-net", pod.Spec{
					Network:       pod.Network{Mode: mode},
					RestartPolicy: pod.RestartNever,
					Containers:    []pod.Container{{Name: "c", Command: []string{"true"}}},
				})
				require.NoError(b, err)
				t0 := time.Now()
				require.NoError(b, p.Start(context.Background()))
				start += time.Since(t0)
				require.NoError(b, p.Wait())
			}
			b.ReportMetric(float64(start.Microseconds())/float64(b.N)/1000, "start-ms/op")
		})
	}
}
