package proxy

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testUpstreams(weights ...int) []*upstream {
	ups := make([]*upstream, len(weights))
	for i, w := range weights {
		addr := fmt.Sprintf("%c:1", 'a'+i)
		ups[i] = &upstream{index: i, addr: addr, weight: w, seed: mix64(fnv64a(addr) + 0x9e3779b97f4a7c15)}
		ups[i].healthy.Store(true)
	}
	return ups
}

func all(*upstream) bool { return true }

// pickN picks n times, ending each connection at once, and returns the
// names in order.
func pickN(b balancer, n int, key func(i int) string, ok func(*upstream) bool) string {
	var sb strings.Builder
	for i := range n {
		u := b.pick(key(i), ok)
		if u == nil {
			sb.WriteByte('-')
			continue
		}
		u.active.Add(-1)
		sb.WriteByte(u.addr[0])
	}
	return sb.String()
}

func noKey(int) string { return "" }

func TestRoundRobinSmoothWeighted(t *testing.T) {
	tests := []struct {
		weights []int
		want    string
	}{
		{[]int{5, 1, 1}, "aabacaa" + "aabacaa"},
		{[]int{1, 1, 1}, "abcabc"},
		{[]int{2, 1}, "abaaba"},
		{[]int{1}, "aaa"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.weights), func(t *testing.T) {
			b := newRoundRobin(testUpstreams(tt.weights...))
			require.Equal(t, tt.want, pickN(b, len(tt.want), noKey, all))
		})
	}

	t.Run("skips unavailable", func(t *testing.T) {
		ups := testUpstreams(5, 1, 1)
		b := newRoundRobin(ups)
		notA := func(u *upstream) bool { return u.index != 0 }
		require.Equal(t, "bcbc", pickN(b, 4, noKey, notA))
		none := func(*upstream) bool { return false }
		require.Equal(t, "--", pickN(b, 2, noKey, none))
	})
}

func TestLeastConn(t *testing.T) {
	ups := testUpstreams(1, 1, 1)
	b := newLeastConn(ups)
	ups[0].active.Store(3)
	ups[1].active.Store(1)
	ups[2].active.Store(2)
	u := b.pick("", all)
	require.Same(t, ups[1], u, "fewest active")
	require.EqualValues(t, 2, ups[1].active.Load(), "pick counts the connection")

	// Ties go round robin.
	for _, u := range ups {
		u.active.Store(0)
	}
	require.Equal(t, "abcabc", pickN(b, 6, noKey, all))

	// Weighted: 4 active on weight 4 is as loaded as 1 on weight 1.
	w := testUpstreams(4, 1)
	bw := newLeastConn(w)
	w[0].active.Store(3)
	w[1].active.Store(1)
	require.Same(t, w[0], bw.pick("", all))
	w[0].active.Store(4)
	w[1].active.Store(1)
	require.Equal(t, "a", pickN(bw, 1, noKey, all), "tie goes by weight first")

	require.Nil(t, b.pick("", func(*upstream) bool { return false }))
}

func TestRandomTwo(t *testing.T) {
	ups := testUpstreams(1, 1, 1)
	b := &randomTwo{ups: ups}
	// With two candidates both are always drawn: the idle one wins.
	ups[0].active.Store(10)
	notC := func(u *upstream) bool { return u.index != 2 }
	for range 50 {
		u := b.pick("", notC)
		require.Same(t, ups[1], u)
		u.active.Add(-1)
	}
	// With three, the most loaded never wins against another.
	ups[1].active.Store(5)
	for range 200 {
		u := b.pick("", all)
		require.NotSame(t, ups[0], u)
		u.active.Add(-1)
	}
	// Load equal: weights show in the draws.
	w := testUpstreams(9, 1)
	bw := &randomTwo{ups: w}
	counts := map[byte]int{}
	for range 10000 {
		u := bw.pick("", all)
		u.active.Add(-1)
		counts[u.addr[0]]++
	}
	// The first draw decides ties: P(a) = 0.9.
	require.InDelta(t, 0.9, float64(counts['a'])/10000, 0.03)
	require.Nil(t, b.pick("", func(*upstream) bool { return false }))
}

func TestHashWeightsAndStickiness(t *testing.T) {
	key := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }
	const n = 20000

	tests := []struct {
		weights []int
		want    []float64
	}{
		{[]int{90, 10}, []float64{0.9, 0.1}},
		{[]int{1, 1, 1}, []float64{1. / 3, 1. / 3, 1. / 3}},
		{[]int{5, 3, 2}, []float64{0.5, 0.3, 0.2}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.weights), func(t *testing.T) {
			b := &rendezvous{ups: testUpstreams(tt.weights...)}
			got := pickN(b, n, key, all)
			for i, want := range tt.want {
				share := float64(strings.Count(got, string(rune('a'+i)))) / n
				require.InDelta(t, want, share, 0.03, "upstream %c", 'a'+i)
			}
			// Sticky: the same keys map the same way again.
			require.Equal(t, got, pickN(b, n, key, all))
		})
	}

	t.Run("minimal disruption", func(t *testing.T) {
		ups := testUpstreams(1, 1, 1, 1)
		b := &rendezvous{ups: ups}
		before := pickN(b, n, key, all)
		withoutC := func(u *upstream) bool { return u.index != 2 }
		after := pickN(b, n, key, withoutC)
		moved := 0
		for i := range n {
			if before[i] == 'c' {
				require.NotEqual(t, byte('c'), after[i])
				moved++
				continue
			}
			require.Equal(t, before[i], after[i], "key %d moved though its upstream stayed", i)
		}
		require.InDelta(t, 0.25, float64(moved)/n, 0.03)
		// And when c comes back, its keys return to it.
		require.Equal(t, before, pickN(b, n, key, all))
	})

	t.Run("stable across instances", func(t *testing.T) {
		b1 := &rendezvous{ups: testUpstreams(90, 10)}
		b2 := &rendezvous{ups: testUpstreams(90, 10)}
		require.Equal(t, pickN(b1, 1000, key, all), pickN(b2, 1000, key, all))
	})
}

// Through a real proxy, weights 5, 1, 1 give exactly a, a, b, a, c, a, a.
func TestProxyRoundRobinOrder(t *testing.T) {
	checkFDs(t)
	a, b, c := newServer(t, named("a")), newServer(t, named("b")), newServer(t, named("c"))
	_, addr := startProxy(t, Config{Upstreams: []Upstream{
		{Addr: a.Addr(), Weight: 5}, {Addr: b.Addr(), Weight: 1}, {Addr: c.Addr(), Weight: 1},
	}})
	var got strings.Builder
	for range 7 {
		conn := dial(t, addr)
		got.WriteString(readName(t, conn, 1))
		conn.Close()
	}
	require.Equal(t, "aabacaa", got.String())
}

// Least-conn sends a new connection to the idle upstream.
func TestProxyLeastConnPicksIdle(t *testing.T) {
	checkFDs(t)
	a, b := newServer(t, named("a")), newServer(t, named("b"))
	p, addr := startProxy(t, Config{Balance: LeastConn, Upstreams: []Upstream{{Addr: a.Addr()}, {Addr: b.Addr()}}})
	held := dial(t, addr)
	first := readName(t, held, 1)
	other := map[string]string{"a": "b", "b": "a"}[first]
	for range 3 {
		c := dial(t, addr)
		require.Equal(t, other, readName(t, c, 1), "the idle upstream")
		c.Close()
		require.Eventually(t, func() bool { return p.Stats().Active == 1 }, 2*time.Second, time.Millisecond)
	}
	require.EqualValues(t, 1, upstreamStats(p, map[string]string{"a": a.Addr(), "b": b.Addr()}[first]).Active)
}

// Hash on a client key: every connection of a key lands on one upstream,
// and the default key is the client's IP.
func TestProxyHashSticky(t *testing.T) {
	checkFDs(t)
	a, b := newServer(t, named("a")), newServer(t, named("b"))
	ups := []Upstream{{Addr: a.Addr()}, {Addr: b.Addr()}}

	var user atomic.Value // the network gives no happens-before the race detector sees
	_, addr := startProxy(t, Config{Balance: Hash, Upstreams: ups, ClientKey: func(net.Conn) string { return user.Load().(string) }})
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		user.Store(u)
		first := readName(t, dial(t, addr), 1)
		for range 3 {
			require.Equal(t, first, readName(t, dial(t, addr), 1), "user %s", u)
		}
	}

	_, addr2 := startProxy(t, Config{Balance: Hash, Upstreams: ups})
	want := "a"
	if (&rendezvous{ups: testUpstreamsFor(ups)}).pick("127.0.0.1", all).index == 1 {
		want = "b"
	}
	for range 3 {
		require.Equal(t, want, readName(t, dial(t, addr2), 1))
	}
}

func testUpstreamsFor(ups []Upstream) []*upstream {
	p := &Proxy{}
	if err := p.configure(Config{Upstreams: ups}); err != nil {
		panic(err)
	}
	return p.ups
}
