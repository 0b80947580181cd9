package pod_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
)

// selfSigned returns a server TLS config and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestPublishedPorts(t *testing.T) {
	server, env := helperCommand(t, "listen", "127.0.0.1:8000")
	serverTLS, roots := selfSigned(t)
	p, rec, _ := startPod(t, "ports", pod.Spec{
		Ports: []pod.Port{
			{ContainerPort: 8000},
			{ContainerPort: 8000, TLS: serverTLS},
		},
		Containers: []pod.Container{{Name: "web", Command: server, Env: env,
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 8000}, Period: 20 * time.Millisecond}}},
	})
	rec.until("ready", isReason(pod.EventReady, "web"))
	addrs := p.PublishedAddrs()
	require.Len(t, addrs, 2)
	host, _, _ := net.SplitHostPort(addrs[0])
	assert.Equal(t, "127.0.0.1", host, "published on the loopback by default")

	c, err := net.Dial("tcp", addrs[0])
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	require.NoError(t, err)
	assert.Equal(t, "hello from ports\n", line, "the host reached the pod's loopback")

	// The second publishes the same port with TLS terminated on the host.
	tc, err := tls.Dial("tcp", addrs[1], &tls.Config{RootCAs: roots})
	require.NoError(t, err)
	line, err = bufio.NewReader(tc).ReadString('\n')
	tc.Close()
	require.NoError(t, err)
	assert.Equal(t, "hello from ports\n", line)
}

func TestPublishedPortInUse(t *testing.T) {
	requireRoot(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	p, err := pod.New("port-in-use", pod.Spec{
		Ports:      []pod.Port{{ContainerPort: 80, HostPort: ln.Addr().(*net.TCPAddr).Port}},
		Containers: []pod.Container{{Name: "c", Command: []string{"sleep", "1000"}}},
	})
	require.NoError(t, err)
	err = p.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "publish port 80")
	assert.Contains(t, err.Error(), "address already in use")
	assert.Equal(t, err, p.Wait())
	c, _ := p.Status().Container("c")
	assert.Nil(t, c.State.Running, "a container started")
	assert.Equal(t, pod.PhaseFailed, p.Status().Phase)
}

func TestPortValidation(t *testing.T) {
	_, err := pod.New("p", pod.Spec{
		Ports: []pod.Port{
			{ContainerPort: 0},
			{ContainerPort: 80, HostIP: "localhost"},
			{ContainerPort: 81, HostPort: 8080},
			{ContainerPort: 82, HostPort: 8080},
		},
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	for _, want := range []string{`ports[0].containerPort: invalid value "0"`, `ports[1].hostIP: invalid value "localhost": not an IP address`,
		`ports[3].hostPort: invalid value "127.0.0.1:8080": published twice`} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestHostNetworkPortIsNotProxied is issue 14's host-network pod that
// published containerPort 18090 on hostPort 18090: the proxy took the port
// (the app failed with "address already in use") and, with a sleep
// container, connected to itself in a loop. Now nothing is proxied: the
// app binds the host port itself, and without an app the port refuses.
func TestHostNetworkPortIsNotProxied(t *testing.T) {
	port := testenv.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	server, env := helperCommand(t, "listen", addr)
	p, rec, _ := startPod(t, "hostnet-port", pod.Spec{
		Network: pod.Network{Mode: pod.NetworkHost},
		Ports:   []pod.Port{{ContainerPort: port, HostPort: port}},
		Containers: []pod.Container{{Name: "web", Command: server, Env: env,
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: port}, Period: 20 * time.Millisecond}}},
	})
	rec.until("ready", isReason(pod.EventReady, "web"))
	assert.Equal(t, []string{addr}, p.PublishedAddrs())
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	require.NoError(t, err)
	assert.Equal(t, "hello from hostnet-port\n", line, "the app bound the host port itself")

	port = testenv.FreePort(t)
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p, rec, _ = startPod(t, "hostnet-sleep", pod.Spec{
		Network:    pod.Network{Mode: pod.NetworkHost},
		Ports:      []pod.Port{{ContainerPort: port}},
		Containers: []pod.Container{{Name: "sleep", Command: []string{"sleep", "60"}}},
	})
	rec.until("started", isReason(pod.EventStarted, "sleep"))
	assert.Equal(t, []string{addr}, p.PublishedAddrs())
	_, err = net.Dial("tcp", addr)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "nothing listens: no proxy to loop to itself")
}

func TestHostNetworkPortValidation(t *testing.T) {
	tlsConfig, _ := selfSigned(t)
	_, err := pod.New("p", pod.Spec{
		Network:    pod.Network{Mode: pod.NetworkHost},
		Ports:      []pod.Port{{ContainerPort: 18090, HostPort: 18091}, {ContainerPort: 18092, TLS: tlsConfig}},
		Containers: []pod.Container{{Name: "c", Command: []string{"true"}}},
	})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	assert.Contains(t, err.Error(), `ports[0].hostPort: invalid value "18091": must equal containerPort (18090) on the host's network`)
	assert.Contains(t, err.Error(), `ports[1].tls: invalid value "set": not on the host's network, where nothing is proxied`)
}

// A published port serves at most MaxConns connections at once, and closes
// one that has been idle for IdleTimeout; the next waiting one is served
// then.
func TestPublishedPortLimits(t *testing.T) {
	echo := func(ctx context.Context) error {
		self, _ := pod.FromContext(ctx)
		ln, err := self.Pod.Listen(ctx, "tcp", "127.0.0.1:8001")
		if err != nil {
			return err
		}
		go func() { <-ctx.Done(); ln.Close() }()
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				go func() { <-ctx.Done(); c.Close() }()
				_, _ = io.Copy(c, c)
			}()
		}
	}
	p, rec, _ := startPod(t, "port-limits", pod.Spec{
		Ports: []pod.Port{{ContainerPort: 8001, MaxConns: 1, IdleTimeout: 300 * time.Millisecond}},
		Containers: []pod.Container{{Name: "echo", Func: echo,
			ReadinessProbe: &pod.Probe{TCPSocket: &pod.TCPSocketAction{Port: 8001}, Period: 20 * time.Millisecond}}},
	})
	rec.until("ready", isReason(pod.EventReady, "echo"))
	addr := p.PublishedAddrs()[0]
	roundTrip := func(c net.Conn, msg string, within time.Duration) error {
		if _, err := io.WriteString(c, msg); err != nil {
			return err
		}
		require.NoError(t, c.SetReadDeadline(time.Now().Add(within)))
		buf := make([]byte, len(msg))
		_, err := io.ReadFull(c, buf)
		if err == nil && string(buf) != msg {
			err = fmt.Errorf("got %q", buf)
		}
		return err
	}

	first, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer first.Close()
	require.NoError(t, roundTrip(first, "one", 5*time.Second))
	second, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer second.Close()
	err = roundTrip(second, "two", 150*time.Millisecond)
	require.Error(t, err, "a second connection was served beyond MaxConns 1")
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)

	// The first, idle, is closed after IdleTimeout; the second is served.
	require.NoError(t, first.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = first.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the idle connection was not closed")
	require.NoError(t, second.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 3)
	_, err = io.ReadFull(second, buf)
	require.NoError(t, err)
	assert.Equal(t, "two", string(buf))
}
