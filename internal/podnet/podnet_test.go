package podnet

import (
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/owner"
	"github.com/podkit/podkit/internal/proc"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/internal/thread"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestHostInterface(t *testing.T) {
	a, err := owner.Name("web")
	require.NoError(t, err)
	b, err := owner.Name("web")
	require.NoError(t, err)
	name := HostInterface(a)
	assert.Regexp(t, `^pk[0-9a-f]{8}$`, name)
	assert.LessOrEqual(t, len(name), unix.IFNAMSIZ-1)
	assert.Equal(t, name, HostInterface(a))
	assert.NotEqual(t, name, HostInterface(b))
}

func TestAlias(t *testing.T) {
	short, err := owner.Name("web")
	require.NoError(t, err)
	assert.Equal(t, "podkit:"+short, alias(short))

	long, err := owner.Name(strings.Repeat("a", 253))
	require.NoError(t, err)
	got := alias(long)
	assert.Len(t, got, maxAlias)
	// The supervisor's identity survives the cut.
	_, rest, _ := strings.Cut(long, "_")
	assert.True(t, strings.HasSuffix(got, "_"+rest), got)
	assert.True(t, owner.Alive(strings.TrimPrefix(got, aliasPrefix)))
}

func TestValidSubnet(t *testing.T) {
	for s, want := range map[string]string{
		"10.0.0.0/30":         "",
		"10.0.0.4/31":         "",
		"10.0.0.1/30":         "must start at its first address (10.0.0.0/30)",
		"10.0.0.0/29":         "must be a /30 or a /31",
		"10.0.0.0/32":         "must be a /30 or a /31",
		"fd00::/127":          "must be IPv4",
		"::ffff:10.0.0.0/126": "must be IPv4",
	} {
		err := ValidSubnet(netip.MustParsePrefix(s))
		if want == "" {
			assert.NoError(t, err, s)
		} else {
			assert.EqualError(t, err, want, s)
		}
	}
	assert.EqualError(t, ValidSubnet(netip.Prefix{}), "not a prefix")
}

func TestAddresses(t *testing.T) {
	h, p := addresses(netip.MustParsePrefix("10.1.2.4/30"))
	assert.Equal(t, "10.1.2.5", h.String())
	assert.Equal(t, "10.1.2.6", p.String())
	h, p = addresses(netip.MustParsePrefix("10.1.2.4/31"))
	assert.Equal(t, "10.1.2.4", h.String())
	assert.Equal(t, "10.1.2.5", p.String())
}

func TestPick(t *testing.T) {
	taken := []used{
		{netip.MustParsePrefix("10.213.0.0/30"), "a"},
		{netip.MustParsePrefix("10.213.0.5/32"), "b"},
		{netip.MustParsePrefix("192.168.0.0/16"), "c"},
	}
	got, err := pick(DefaultRange, 30, taken)
	require.NoError(t, err)
	assert.Equal(t, "10.213.0.8/30", got.String())

	_, err = pick(netip.MustParsePrefix("10.213.0.0/29"), 30, taken)
	assert.EqualError(t, err, "no free /30 left in 10.213.0.0/29: set the pod's subnet")
	_, err = pick(DefaultRange, 30, []used{{netip.MustParsePrefix("10.0.0.0/8"), "all"}})
	assert.Error(t, err)
}

// netnsProcess starts a process in a network namespace of its own.
func netnsProcess(t *testing.T) *proc.Process {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	p, err := proc.Start(cmd, proc.Hooks{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Signal(syscall.SIGKILL)
		<-p.Done()
		p.Release()
	})
	return p
}

// inside runs fn in the network namespace of p.
func inside(t *testing.T, p *proc.Process, fn func()) {
	t.Helper()
	var err error
	thread.Run(func() {
		if err = unix.Setns(p.PidFD(), unix.CLONE_NEWNET); err == nil {
			fn()
		}
	})
	require.NoError(t, err)
}

func TestSetupAndRemove(t *testing.T) {
	testenv.RequireRoot(t)
	name, err := owner.Name("podnet-test")
	require.NoError(t, err)
	infra := netnsProcess(t)
	subnet := netip.MustParsePrefix("10.213.253.0/30")
	l, err := Setup(name, infra.PidFD(), subnet)
	require.NoError(t, err)
	defer Remove(l.Host, name)
	assert.Equal(t, &Link{Host: HostInterface(name), Subnet: subnet,
		HostAddr: netip.MustParseAddr("10.213.253.1"), PodAddr: netip.MustParseAddr("10.213.253.2")}, l)

	host, err := netlink.LinkByName(l.Host)
	require.NoError(t, err)
	assert.Equal(t, alias(name), host.Attrs().Alias)
	assert.NotZero(t, host.Attrs().Flags&net.FlagUp)
	// Checked inside, on a thread of its own: assert, not require.
	inside(t, infra, func() {
		eth0, err := netlink.LinkByName(PodInterface)
		if !assert.NoError(t, err) {
			return
		}
		assert.NotZero(t, eth0.Attrs().Flags&net.FlagUp)
		addrs, err := netlink.AddrList(eth0, netlink.FAMILY_V4)
		assert.NoError(t, err)
		if assert.Len(t, addrs, 1) {
			assert.Equal(t, "10.213.253.2/30", addrs[0].IPNet.String())
		}
		routes, err := netlink.RouteList(eth0, netlink.FAMILY_V4)
		assert.NoError(t, err)
		var gw []string
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				gw = append(gw, r.Gw.String())
			}
		}
		assert.Equal(t, []string{"10.213.253.1"}, gw)
	})

	// An overlapping subnet is refused, and leaves nothing behind.
	other, err := owner.Name("podnet-test")
	require.NoError(t, err)
	_, err = Setup(other, netnsProcess(t).PidFD(), netip.MustParsePrefix("10.213.253.2/31"))
	assert.ErrorContains(t, err, "podnet: subnet 10.213.253.2/31 overlaps 10.213.253.0/30 (address 10.213.253.1/30 of "+l.Host+")")
	_, err = netlink.LinkByName(HostInterface(other))
	assert.ErrorAs(t, err, &netlink.LinkNotFoundError{})
	// A picked subnet avoids the one in use.
	l2, err := Setup(other, netnsProcess(t).PidFD(), netip.Prefix{})
	require.NoError(t, err)
	assert.False(t, l2.Subnet.Overlaps(subnet), l2.Subnet)
	require.NoError(t, Remove(l2.Host, other))

	// Remove leaves another owner's link alone, and does not mind one
	// that is gone.
	require.NoError(t, Remove(l.Host, other))
	_, err = netlink.LinkByName(l.Host)
	require.NoError(t, err)
	require.NoError(t, Remove(l.Host, name))
	_, err = netlink.LinkByName(l.Host)
	assert.ErrorAs(t, err, &netlink.LinkNotFoundError{})
	require.NoError(t, Remove(l.Host, name))
}

func TestCleanupStale(t *testing.T) {
	testenv.RequireRoot(t)
	alive, err := owner.Name("alive")
	require.NoError(t, err)
	add := func(name, owner string) {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
		require.NoError(t, netlink.LinkAdd(veth))
		require.NoError(t, netlink.LinkSetAlias(veth, alias(owner)))
		t.Cleanup(func() {
			if err := netlink.LinkDel(veth); err != nil && !errors.Is(err, unix.ENODEV) {
				t.Error(err)
			}
		})
	}
	// A pair named for a supervisor that is not running (PID 1 with a
	// start time it does not have), and one for this program.
	add("pktestdead", "dead_1_99999999_00000000")
	add("pktestalive", alive)
	removed, err := CleanupStale()
	require.NoError(t, err)
	assert.Contains(t, removed, "pktestdead")
	assert.NotContains(t, removed, "pktestalive")
	_, err = netlink.LinkByName("pktestdead")
	assert.ErrorAs(t, err, &netlink.LinkNotFoundError{})
	_, err = netlink.LinkByName("pktestalive")
	assert.NoError(t, err)
}
