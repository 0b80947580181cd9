// Package httpserve builds the HTTP servers podkit opens (the metrics and
// health adapters, the HTTP ambassador), so that every one of them has the
// same bounds: a time to read a request's headers, a time a keep-alive
// connection may sit idle, a header size, and a limit on the connections
// open at once. Without them a client that never finishes its headers, or
// keeps connections open and silent, holds a goroutine and a descriptor of
// the supervising program for as long as it likes.
//
// Limits is plain data whose zero value means the defaults below; Server
// returns the http.Server and Listen the listener that enforce it. The
// connection limit is golang.org/x/net/netutil.LimitListener: at the limit
// Accept waits until a connection closes, so new clients wait in the
// kernel's listen backlog while the connections already accepted are
// served.
//
// The package keeps no state: a server and its listener are the caller's,
// who serves, shuts down and closes them as with any http.Server.
package httpserve
