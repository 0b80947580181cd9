package pod

import (
	"net"
	"strconv"
	"time"
)

// ListenProbe returns a startup probe that passes once addr, a host:port
// inside the pod, accepts TCP connections: the probe an in-process member
// that serves (an ambassador, an adapter) gives itself, so that the
// containers declared after it start once it listens. An empty or wildcard
// host is probed on 127.0.0.1. The probe checks every 50ms and gives up
// after 10s. addr is not checked: the member checks its own address.
func ListenProbe(addr string) *Probe {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return &Probe{TCPSocket: &TCPSocketAction{Host: host, Port: n},
		Period: 50 * time.Millisecond, FailureThreshold: 200}
}
