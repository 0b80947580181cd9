package imagetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/podkit/podkit/internal/testenv"
)

// RegistryOptions configures Registry; the zero value is a plain-HTTP
// registry without authentication.
type RegistryOptions struct {
	// TLS serves HTTPS with a certificate for 127.0.0.1 signed by a CA
	// generated for the test (Registry.Transport trusts it).
	TLS bool
	// User and Password, when User is set, require HTTP basic
	// authentication (htpasswd, bcrypt).
	User, Password string
}

// Registry is a running distribution registry (Debian's docker-registry)
// on 127.0.0.1, stopped when its test ends.
type Registry struct {
	// Host is "127.0.0.1:port", the registry part of its references.
	Host string
	// Transport reaches the registry, trusting its test CA when TLS is
	// on.
	Transport *http.Transport
	// CAFile is the PEM file of the test CA, or "".
	CAFile string
}

// Ref returns the reference of repo:tag in r, such as
// "127.0.0.1:5000/busybox:1".
func (r *Registry) Ref(repoTag string) string { return r.Host + "/" + repoTag }

// DockerConfig writes a docker config.json with r's credentials into a
// new directory and returns the directory, for DOCKER_CONFIG.
func (r *Registry) DockerConfig(t testing.TB, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{r.Host: map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	return dir
}

// StartRegistry starts a registry with its storage in a temporary
// directory and returns once it accepts connections. It needs the
// docker-registry command (package docker-registry); without it the
// test is skipped, or fails under CI=true. The registry is killed and
// waited for in t's cleanup.
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	testenv.RequireTool(t, "docker-registry")
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	r := &Registry{Host: addr, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if opts.TLS {
		cert, key, ca := certificate(t, dir)
		cfg += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", cert, key)
		r.CAFile = ca
		pool := x509.NewCertPool()
		b, _ := os.ReadFile(ca)
		pool.AppendCertsFromPEM(b)
		r.Transport.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	if opts.User != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("imagetest: %v", err)
		}
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, []byte(opts.User+":"+string(h)+"\n"), 0o600); err != nil {
			t.Fatalf("imagetest: %v", err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: imagetest\n    path: %s\n", pw)
	}
	conf := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	cmd := exec.Command("docker-registry", "serve", conf)
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("imagetest: docker-registry: %v", err)
	}
	t.Cleanup(func() {
		r.Transport.CloseIdleConnections()
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
		if t.Failed() {
			if b, err := os.ReadFile(log.Name()); err == nil && len(b) > 0 {
				t.Logf("docker-registry's log:\n%s", b)
			}
		}
	})
	testenv.WaitListening(t, addr)
	return r
}

// certificate writes a CA and a server certificate for 127.0.0.1 signed
// by it into dir and returns the server certificate's, its key's and the
// CA's PEM files.
func certificate(t testing.TB, dir string) (cert, key, ca string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imagetest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatalf("imagetest: %v", err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatalf("imagetest: %v", err)
		}
		return p
	}
	return write("server.crt", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER), write("ca.crt", "CERTIFICATE", caDER)
}
