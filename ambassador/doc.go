// Package ambassador implements the ambassador pattern: the application
// talks to localhost inside its pod, and the ambassador carries that traffic
// to the services outside (proxying, load balancing, sharding), so the
// application never learns about service discovery.
//
// The package has no API yet.
package ambassador
