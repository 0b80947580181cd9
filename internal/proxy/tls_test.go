package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testPKI is a CA made for the test and a server certificate it signed.
type testPKI struct {
	roots *x509.CertPool
	cert  tls.Certificate
}

func newTestPKI(t *testing.T, dnsName string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "podkit test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return testPKI{roots: roots, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// TLS origination: the app speaks plain TCP to the proxy, which speaks TLS
// to the upstream, verifying it against the configured roots and sending
// the upstream's host name as SNI. Half-close crosses TLS both ways.
func TestTLSOrigination(t *testing.T) {
	checkFDs(t)
	const name = "redis.upstream.test"
	pki := newTestPKI(t, name)
	sni := make(chan string, 10)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pki.cert}, MinVersion: tls.VersionTLS12})
	// The upstream reads the request to EOF (close_notify), then replies
	// and closes its write side.
	up := serveOn(t, tln, func(_ *server, c net.Conn) {
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			return
		}
		sni <- tc.ConnectionState().ServerName
		req, err := io.ReadAll(tc)
		if err != nil {
			return
		}
		fmt.Fprintf(tc, "tls says %q", req)
		tc.CloseWrite()
	})
	_, port, _ := net.SplitHostPort(up.Addr())
	// The upstream is known by name; the dialer resolves it.
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != net.JoinHostPort(name, port) {
			return nil, fmt.Errorf("unexpected address %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, up.Addr())
	}

	t.Run("verified", func(t *testing.T) {
		p, addr := startProxy(t, Config{
			Upstreams: []Upstream{{Addr: net.JoinHostPort(name, port)}},
			Dial:      dialer,
			TLS:       &tls.Config{RootCAs: pki.roots},
		})
		c := dial(t, addr)
		_, err := io.WriteString(c, "PING")
		require.NoError(t, err)
		require.NoError(t, c.CloseWrite())
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		reply, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Equal(t, `tls says "PING"`, string(reply))
		require.Equal(t, name, <-sni)
		require.Eventually(t, func() bool { return p.Stats().Active == 0 }, 2*time.Second, 5*time.Millisecond)
		require.EqualValues(t, 4, p.Stats().BytesUpstream)
		require.EqualValues(t, len(reply), p.Stats().BytesDownstream)
	})

	t.Run("untrusted", func(t *testing.T) {
		other := newTestPKI(t, name)
		p, addr := startProxy(t, Config{
			Upstreams: []Upstream{{Addr: net.JoinHostPort(name, port)}},
			Dial:      dialer,
			TLS:       &tls.Config{RootCAs: other.roots},
		})
		expectClosed(t, dial(t, addr), 5*time.Second)
		require.EqualValues(t, 1, p.Stats().Upstreams[0].ConnectErrors, "a failed handshake is a failed connect")
	})

	t.Run("explicit server name", func(t *testing.T) {
		p, addr := startProxy(t, Config{
			Upstreams: []Upstream{{Addr: up.Addr()}}, // by IP
			TLS:       &tls.Config{RootCAs: pki.roots, ServerName: name},
		})
		c := dial(t, addr)
		require.NoError(t, c.CloseWrite())
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		reply, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Equal(t, `tls says ""`, string(reply))
		require.Equal(t, name, <-sni)
		require.Zero(t, p.Stats().Upstreams[0].ConnectErrors)
	})
}
