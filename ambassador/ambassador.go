package ambassador

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/pod"
)

// ClientTLS configures TLS origination: the ambassador speaks plaintext to
// the application and TLS to the upstreams.
type ClientTLS struct {
	// CAFile holds the PEM certificates that verify the upstreams; empty
	// means the system's roots.
	CAFile string `json:"caFile,omitempty"`
	// ServerName is the name sent (SNI) and verified; empty means each
	// upstream's host.
	ServerName string `json:"serverName,omitempty"`
	// CertFile and KeyFile, when set, are the ambassador's client
	// certificate (mutual TLS): the PEM certificate chain and its key.
	CertFile string `json:"certFile,omitempty"`
	// KeyFile is the key of CertFile.
	KeyFile string `json:"keyFile,omitempty"`
	// InsecureSkipVerify accepts any certificate. For tests only.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// ServerTLS configures TLS termination: clients speak TLS to the
// ambassador, which speaks plaintext to the upstreams, adding HTTPS to an
// application without touching it.
type ServerTLS struct {
	// CertFile and KeyFile are the PEM certificate chain and its key.
	// Required.
	CertFile string `json:"certFile"`
	// KeyFile is the key of CertFile. Required.
	KeyFile string `json:"keyFile"`
}

func (c *ClientTLS) config() (*tls.Config, error) {
	if c == nil {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile: %s: no PEM certificate", c.CAFile)
		}
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certFile, keyFile: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (s *ServerTLS) config() (*tls.Config, error) {
	if s == nil {
		return nil, nil
	}
	if s.CertFile == "" || s.KeyFile == "" {
		return nil, errors.New("certFile and keyFile: required")
	}
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("certFile, keyFile: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// listen listens on addr: inside the pod when ctx is an in-process
// container's, where it runs otherwise; with TLS termination when cfg is
// set. killed is closed when the container is killed (never, outside a
// pod).
func listen(ctx context.Context, addr string, cfg *tls.Config) (ln net.Listener, killed <-chan struct{}, err error) {
	if self, ok := pod.FromContext(ctx); ok {
		ln, err = self.Pod.Listen(ctx, "tcp", addr)
		killed = self.Killed
	} else {
		ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, err
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, killed, nil
}

// untilKilled returns a context that ends when killed is closed, or when
// cancel is called: the time an ambassador drains its connections.
func untilKilled(killed <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-killed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// exportArgs returns the podkit command line that runs the ambassador use,
// configured by cfg, as a process: "ambassador USE FLAGS...".
func exportArgs(use string, cfg any) ([]string, error) {
	args, err := memberconf.Args(cfg)
	if err != nil {
		return nil, fmt.Errorf("ambassador: %s: %w", use, err)
	}
	return append([]string{"ambassador", use}, args...), nil
}
