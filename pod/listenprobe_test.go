package pod_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/podkit/podkit/pod"
)

func TestListenProbe(t *testing.T) {
	for addr, host := range map[string]string{
		"127.0.0.2:80": "127.0.0.2", ":80": "127.0.0.1", "0.0.0.0:80": "127.0.0.1", "[::]:80": "127.0.0.1", "[::1]:80": "::1",
	} {
		p := pod.ListenProbe(addr)
		assert.Equal(t, &pod.TCPSocketAction{Host: host, Port: 80}, p.TCPSocket, addr)
		assert.Equal(t, 10*time.Second, p.Period*time.Duration(p.FailureThreshold), addr)
	}
}
