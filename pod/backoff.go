package pod

import "time"

// backoffState is a container's position in its crash-loop back-off.
type backoffState struct {
	restarts int // restarts since the last reset
}

// next returns the delay before the next restart of a container that ran for
// ranFor before it ended, and advances the state. Following the kubelet, the
// first restart is immediate, later ones wait b.Initial doubling up to b.Max,
// and a container that ran for at least b.Reset starts over.
func (s *backoffState) next(b Backoff, ranFor time.Duration) time.Duration {
	if ranFor >= b.Reset {
		s.restarts = 0
	}
	s.restarts++
	if s.restarts == 1 {
		return 0
	}
	d := b.Initial
	for i := 2; i < s.restarts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
