package promreg

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Registration is the collectors one owner registered with a Registerer.
// The zero value, and a Registration of a nil Registerer, register nothing
// and unregister nothing. It is not safe for concurrent use: its owner
// registers, then unregisters once it has stopped.
type Registration struct {
	r   prometheus.Registerer
	own []prometheus.Collector
}

// New returns a Registration of collectors with r; r may be nil.
func New(r prometheus.Registerer) *Registration {
	return &Registration{r: r}
}

// Register registers c and returns the collector to use: c, or, when an
// equal collector of the same type is already registered, that one, which
// Unregister leaves registered. Any other error of the Registerer is
// returned, with the zero C; the collectors registered before stay
// registered until Unregister.
func Register[C prometheus.Collector](g *Registration, c C) (C, error) {
	var zero C
	if g == nil || g.r == nil {
		return c, nil
	}
	err := g.r.Register(c)
	if err == nil {
		g.own = append(g.own, c)
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
		return zero, fmt.Errorf("promreg: an equal collector of type %T is registered: %w", are.ExistingCollector, err)
	}
	return zero, err
}

// Unregister unregisters the collectors that Register registered, in the
// reverse order, and forgets them: a second call does nothing.
func (g *Registration) Unregister() {
	if g == nil || g.r == nil {
		return
	}
	for _, c := range slices.Backward(g.own) {
		g.r.Unregister(c)
	}
	g.own = nil
}
