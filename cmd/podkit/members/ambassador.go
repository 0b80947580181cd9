package members

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/pod"
)

// Ambassadors are the members of "podkit ambassador".
var Ambassadors = []Member{
	{"tcp", "proxy TCP connections from a pod's loopback to a pool of upstreams", parseTCPAmbassador},
	{"http", "proxy HTTP requests from a pod's loopback: weighted split, header routes, mirroring", parseHTTPAmbassador},
}

// tlsFlags are the flags of ambassador.ClientTLS.
type tlsFlags struct {
	on  bool
	cfg ambassador.ClientTLS
}

func (f *tlsFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "tls", false, "speak TLS to the upstreams")
	fs.StringVar(&f.cfg.CAFile, "tls-ca-file", "", "PEM certificates that verify the upstreams (default: the system's)")
	fs.StringVar(&f.cfg.ServerName, "tls-server-name", "", "name sent and verified (default: each upstream's host)")
	fs.StringVar(&f.cfg.CertFile, "tls-cert-file", "", "client certificate (mutual TLS)")
	fs.StringVar(&f.cfg.KeyFile, "tls-key-file", "", "client key (mutual TLS)")
	fs.BoolVar(&f.cfg.InsecureSkipVerify, "tls-insecure-skip-verify", false, "accept any certificate (tests only)")
}

func (f *tlsFlags) config() *ambassador.ClientTLS {
	if !f.on {
		return nil
	}
	return &f.cfg
}

// splitWeight parses ADDR or ADDR=WEIGHT.
func splitWeight(s string) (string, int, error) {
	addr, w, ok := strings.Cut(s, "=")
	if !ok {
		return s, 0, nil
	}
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		return "", 0, fmt.Errorf("upstream %q: weight %q is not a number", s, w)
	}
	return addr, n, nil
}

func parseTCPAmbassador(name string, args []string) (pod.Container, func(context.Context) error, error) {
	var (
		t              ambassador.TCP
		upstreams      []string
		balance        string
		tf             tlsFlags
		certFile, keyF string
	)
	fs := pflag.NewFlagSet("tcp", pflag.ContinueOnError)
	fs.StringVar(&t.Listen, "listen", "", "address to listen on (inside the pod under podkit run)")
	fs.StringArrayVar(&upstreams, "upstream", nil, "upstream host:port[=weight] (repeatable)")
	fs.StringVar(&balance, "balance", "", "round-robin, least-conn, random-two or hash")
	fs.DurationVar(&t.ConnectTimeout, "connect-timeout", 0, "bound of a connect to an upstream (default 5s)")
	fs.DurationVar(&t.IdleTimeout, "idle-timeout", 0, "close a connection idle this long (default never)")
	fs.IntVar(&t.MaxConns, "max-conns", 0, "stop accepting at this many open connections (default no limit)")
	fs.IntVar(&t.Retries, "retries", 0, "connect retries on the next upstream (default 2)")
	fs.DurationVar(&t.HealthCheck.Interval, "health-interval", 0, "active TCP health checks every (default off)")
	fs.DurationVar(&t.HealthCheck.Timeout, "health-timeout", 0, "bound of a health check (default 1s)")
	fs.IntVar(&t.HealthCheck.Rise, "rise", 0, "successes that make an upstream healthy (default 2)")
	fs.IntVar(&t.HealthCheck.Fall, "fall", 0, "failures that make an upstream unhealthy (default 3)")
	fs.IntVar(&t.EjectAfter, "eject-after", 0, "eject an upstream after this many connect failures in a row (default 3; -1 never)")
	fs.DurationVar(&t.RetryTimeout, "retry-timeout", 0, "try an ejected upstream again after (default 30s)")
	fs.StringVar(&certFile, "listen-tls-cert-file", "", "terminate TLS from clients with this certificate")
	fs.StringVar(&keyF, "listen-tls-key-file", "", "... and this key")
	tf.add(fs)
	if err := parseMember(fs, args); err != nil {
		return pod.Container{}, nil, err
	}
	for _, u := range upstreams {
		addr, w, err := splitWeight(u)
		if err != nil {
			return pod.Container{}, nil, err
		}
		t.Upstreams = append(t.Upstreams, ambassador.Upstream{Addr: addr, Weight: w})
	}
	t.Balance = ambassador.Balance(balance)
	t.TLS = tf.config()
	if certFile != "" || keyF != "" {
		t.ListenTLS = &ambassador.ServerTLS{CertFile: certFile, KeyFile: keyF}
	}
	c, err := t.Container(name)
	return c, t.Run, err
}

func parseHTTPAmbassador(name string, args []string) (pod.Container, func(context.Context) error, error) {
	var (
		h                 ambassador.HTTP
		upstreams, routes []string
		mirror            ambassador.Mirror
		tf                tlsFlags
	)
	fs := pflag.NewFlagSet("http", pflag.ContinueOnError)
	fs.StringVar(&h.Listen, "listen", "", "address to listen on (inside the pod under podkit run)")
	fs.StringArrayVar(&upstreams, "upstream", nil, "upstream URL[=weight] (repeatable)")
	fs.StringArrayVar(&routes, "route", nil, "HEADER=VALUE=URL: requests with that header value go to that upstream (repeatable)")
	fs.StringVar(&mirror.URL, "mirror", "", "URL of a mirror receiving a copy of some requests")
	fs.Float64Var(&mirror.Percent, "mirror-percent", 0, "percentage of the requests mirrored")
	fs.Int64Var(&mirror.MaxBodyBytes, "mirror-max-body-bytes", 0, "larger request bodies are not mirrored (default 1 MiB)")
	fs.IntVar(&mirror.MaxInFlight, "mirror-max-in-flight", 0, "mirrored requests in flight at most (default 64)")
	fs.DurationVar(&h.Timeout, "timeout", 0, "bound of an upstream's answer (default 30s)")
	tf.add(fs)
	if err := parseMember(fs, args); err != nil {
		return pod.Container{}, nil, err
	}
	for _, u := range upstreams {
		// A URL may hold '=' in its query: the weight is after the last.
		url, w := u, 0
		if i := strings.LastIndexByte(u, '='); i > 0 {
			if n, err := strconv.Atoi(u[i+1:]); err == nil {
				url, w = u[:i], n
			}
		}
		h.Upstreams = append(h.Upstreams, ambassador.HTTPUpstream{URL: url, Weight: w})
	}
	for _, r := range routes {
		parts := strings.SplitN(r, "=", 3)
		if len(parts) != 3 {
			return pod.Container{}, nil, fmt.Errorf("route %q: want HEADER=VALUE=URL", r)
		}
		h.Routes = append(h.Routes, ambassador.Route{Header: parts[0], Value: parts[1], Upstream: parts[2]})
	}
	if mirror.URL != "" {
		h.Mirror = &mirror
	}
	h.TLS = tf.config()
	c, err := h.Container(name)
	return c, h.Run, err
}
