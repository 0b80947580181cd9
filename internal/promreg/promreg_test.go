package promreg_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/promreg"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func counter(name string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "h"})
}

func TestRegisterAndUnregister(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := promreg.New(reg)
	a, err := promreg.Register(g, counter("a_total"))
	require.NoError(t, err)
	b, err := promreg.Register(g, counter("b_total"))
	require.NoError(t, err)
	a.Inc()
	b.Add(2)
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	g.Unregister()
	n, err = testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	g.Unregister() // nothing left to do
}

// A collector equal to a registered one is replaced by it, and left
// registered for its owner.
func TestRegisterReusesExisting(t *testing.T) {
	reg := prometheus.NewRegistry()
	first := promreg.New(reg)
	a, err := promreg.Register(first, counter("a_total"))
	require.NoError(t, err)

	second := promreg.New(reg)
	again, err := promreg.Register(second, counter("a_total"))
	require.NoError(t, err)
	again.Inc()
	assert.Equal(t, 1.0, testutil.ToFloat64(a), "the same counter")

	second.Unregister()
	n, err := testutil.GatherAndCount(reg, "a_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "still registered for its owner")
	first.Unregister()
	n, err = testutil.GatherAndCount(reg, "a_total")
	require.NoError(t, err)
	assert.Equal(t, 0, n)
}

// wrapped is a collector of its own type.
type wrapped struct{ prometheus.Collector }

func TestRegisterErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := promreg.New(reg)
	_, err := promreg.Register(g, counter("a_total"))
	require.NoError(t, err)

	// Same name, other help: inconsistent, not equal.
	_, err = promreg.Register(g, prometheus.NewCounter(prometheus.CounterOpts{Name: "a_total", Help: "other"}))
	assert.Error(t, err)

	// Equal descriptors, another type of collector.
	_, err = promreg.Register(g, &wrapped{counter("a_total")})
	assert.ErrorContains(t, err, "promreg: an equal collector of type")
	g.Unregister()
}

func TestNilRegisterer(t *testing.T) {
	g := promreg.New(nil)
	c := counter("a_total")
	got, err := promreg.Register(g, c)
	require.NoError(t, err)
	assert.Same(t, c, got)
	g.Unregister()

	var zero *promreg.Registration
	got, err = promreg.Register(zero, c)
	require.NoError(t, err)
	assert.Same(t, c, got)
	zero.Unregister()
}
