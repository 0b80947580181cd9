// Package podapi is the local API of a running pod: an HTTP server on one
// Unix socket per pod, through which the podkit command (podkit ps, logs,
// exec, stop, kill) reads the pod's status and logs, runs commands in its
// containers and stops it. podkit run serves it for the pods it runs; a
// program that embeds a pod serves it too (Listen, then Server.Serve) to
// appear in podkit ps, as examples/quickstart does. Client is the other
// end.
//
// # Who may connect
//
// The sockets live in one directory (DefaultDir, /run/podkit, unless the
// caller chooses another), which must be owned by the caller (or root) and
// writable by no one else (ErrUnsafeDir otherwise); each pod's socket is
// dir/<name>/api.sock, mode 0600, in a directory of mode 0700. Whatever
// those modes say, the listener Listen returns checks every connection's
// peer and closes, unanswered, a connection from any user other than root
// and the serving program's effective user, from a process in another PID
// or mount namespace (a pod's container), or from one lacking a capability
// the server holds. A Client checks the server in turn: it must be root or
// the client's own user. Anyone who may connect may run commands in the
// pod's containers, as podkit exec does. A program that serves the API
// passes its run directory to pod.WithMaskedPaths, so that no container
// sees the sockets.
//
// # The protocol
//
// HTTP/1.1 over the socket, version 1:
//
//	GET  /v1/status                       Status, as JSON (with Server.Manifest, if set)
//	GET  /v1/logs?container=C[&previous=true][&tail=N][&follow=true]
//	                                      log entries in the CRI format, one a line
//	POST /v1/exec?container=C&arg=A...[&stdin=true]
//	                                      body: the command's standard input;
//	                                      response: frames (StreamStdout,
//	                                      StreamStderr, then StreamExit)
//	POST /v1/stop                         stop the pod gracefully
//	POST /v1/kill                         stop the pod at once
//
// An error is a non-200 status with {"error": "..."} as its body. An exec
// frame is a 1-byte stream number, 3 zero bytes, a 4-byte big-endian
// length, then that many bytes of data.
//
// # Goroutines
//
// Server.Serve runs the HTTP server in one goroutine, and net/http runs
// one more per connection; Serve returns only when all of them have ended,
// after its context is done (cancelling the requests still streaming logs
// or running commands) or the listener has failed. Cancelling Serve's
// context is how its caller stops them. A Client keeps idle connections,
// each with net/http's goroutines, until Client.Close; a call in progress
// ends when its context is done.
package podapi
