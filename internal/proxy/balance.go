package proxy

import (
	"math"
	"math/rand/v2"
	"sync"
)

// balancer chooses an upstream for a new connection.
type balancer interface {
	// pick returns one of the upstreams ok accepts, or nil if ok accepts
	// none, and counts a connection on it (active+1) before returning so
	// that concurrent picks see it. It is safe for concurrent use.
	pick(key string, ok func(*upstream) bool) *upstream
}

// smoothWRR is one step of nginx's smooth weighted round robin over the
// upstreams ok accepts: each gains its weight, the richest wins and pays the
// total. current holds the running scores, indexed by upstream.index.
func smoothWRR(ups []*upstream, current []int64, ok func(*upstream) bool) *upstream {
	var best *upstream
	var total int64
	for _, u := range ups {
		if !ok(u) {
			continue
		}
		w := int64(u.weight)
		current[u.index] += w
		total += w
		if best == nil || current[u.index] > current[best.index] {
			best = u
		}
	}
	if best != nil {
		current[best.index] -= total
	}
	return best
}

type roundRobin struct {
	mu      sync.Mutex
	ups     []*upstream
	current []int64
}

func newRoundRobin(ups []*upstream) *roundRobin {
	return &roundRobin{ups: ups, current: make([]int64, len(ups))}
}

func (b *roundRobin) pick(_ string, ok func(*upstream) bool) *upstream {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := smoothWRR(b.ups, b.current, ok)
	if u != nil {
		u.active.Add(1)
	}
	return u
}

// leastConn picks the fewest active connections per unit of weight, like
// nginx's least_conn; ties go round robin (smooth, weighted).
type leastConn struct {
	mu      sync.Mutex
	ups     []*upstream
	current []int64
	tied    []*upstream // scratch, under mu
}

func newLeastConn(ups []*upstream) *leastConn {
	return &leastConn{ups: ups, current: make([]int64, len(ups)), tied: make([]*upstream, 0, len(ups))}
}

func (b *leastConn) pick(_ string, ok func(*upstream) bool) *upstream {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tied = b.tied[:0]
	// Compare active/weight by cross-multiplying; bestActive is loaded once
	// because connections end concurrently.
	var bestActive, bestWeight int64
	for _, u := range b.ups {
		if !ok(u) {
			continue
		}
		a, w := u.active.Load(), int64(u.weight)
		switch {
		case len(b.tied) == 0 || a*bestWeight < bestActive*w:
			b.tied = append(b.tied[:0], u)
			bestActive, bestWeight = a, w
		case a*bestWeight == bestActive*w:
			b.tied = append(b.tied, u)
		}
	}
	var u *upstream
	switch len(b.tied) {
	case 0:
		return nil
	case 1:
		u = b.tied[0]
	default:
		u = smoothWRR(b.tied, b.current, func(*upstream) bool { return true })
	}
	u.active.Add(1)
	return u
}

// randomTwo is the power of two choices: two weighted random draws, the
// less loaded (per unit of weight) wins.
type randomTwo struct {
	ups []*upstream
}

func (b *randomTwo) pick(_ string, ok func(*upstream) bool) *upstream {
	var buf [16]*upstream
	cands := buf[:0]
	var total int64
	for _, u := range b.ups {
		if ok(u) {
			cands = append(cands, u)
			total += int64(u.weight)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	first := weightedDraw(cands, total, nil)
	u := first
	if len(cands) > 1 {
		second := weightedDraw(cands, total-int64(first.weight), first)
		if second.active.Load()*int64(first.weight) < first.active.Load()*int64(second.weight) {
			u = second
		}
	}
	u.active.Add(1)
	return u
}

// weightedDraw draws one of cands other than skip, with probability
// proportional to weight; total is the sum of their weights.
func weightedDraw(cands []*upstream, total int64, skip *upstream) *upstream {
	r := rand.Int64N(total)
	var last *upstream
	for _, u := range cands {
		if u == skip {
			continue
		}
		if r -= int64(u.weight); r < 0 {
			return u
		}
		last = u
	}
	return last
}

// rendezvous is weighted rendezvous (highest random weight) hashing: every
// upstream scores weight / -ln(h) for a uniform h in (0, 1) derived from
// (key, upstream), and the best score wins. -ln(h)/weight is exponential with
// rate weight, so an upstream wins a share of keys proportional to its weight
// exactly (no ring granularity); skipping an unavailable upstream moves only
// its own keys, each to its next-best choice. Lookups are O(upstreams),
// which is small for an ambassador. The hash is fixed (FNV-1a mixed by
// splitmix64), so the mapping is the same across restarts and replicas.
type rendezvous struct {
	ups []*upstream
}

func (b *rendezvous) pick(key string, ok func(*upstream) bool) *upstream {
	kh := fnv64a(key)
	var best *upstream
	var bestScore float64
	for _, u := range b.ups {
		if !ok(u) {
			continue
		}
		if s := u.score(kh); best == nil || s > bestScore {
			best, bestScore = u, s
		}
	}
	if best != nil {
		best.active.Add(1)
	}
	return best
}

// score is u's rendezvous score for a key hashed to kh.
func (u *upstream) score(kh uint64) float64 {
	h := mix64(kh ^ u.seed)
	x := (float64(h>>11) + 0.5) / (1 << 53) // uniform in (0, 1)
	return float64(u.weight) / -math.Log(x)
}

func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is splitmix64's finalizer, a bijection with full avalanche.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
