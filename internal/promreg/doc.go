// Package promreg registers the Prometheus collectors of something that
// runs for a while (an adapter, an ambassador) with a caller's Registerer,
// and unregisters them when it stops. It is the one place where the
// module handles prometheus.AlreadyRegisteredError: a collector equal to
// one already registered (the same names and constant labels, from
// another run of the same container, say) is not an error; the registered
// one is used instead, and left registered at the end, since its owner is
// someone else.
package promreg
