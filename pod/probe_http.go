package pod

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HTTP probes as the kubelet runs them (k8s.io/kubernetes/pkg/probe/http),
// without net/http's client and transport: every check is one GET on a new
// connection (Connection: close), with no Accept-Encoding, a kube-probe
// User-Agent and Accept: */*; a status from 200 to 399 is success;
// redirects to the same host name are followed, up to 10, and a redirect
// to another host is a success; up to 10 KiB of the body is read.
const (
	probeUserAgent    = "kube-probe/podkit"
	maxProbeBody      = 10 << 10
	maxProbeRedirects = 10
)

var probeReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}

// probeHTTP runs an HTTP probe from inside the pod.
func (p *Pod) probeHTTP(ctx context.Context, a *HTTPGetAction) error {
	return httpProbe(ctx, p.probeDial, a)
}

// probeDialer connects to addr (host:port) for an HTTP probe using scheme.
type probeDialer func(ctx context.Context, scheme, addr string) (probeConn, error)

// httpProbe runs an HTTP probe, connecting with dial.
func httpProbe(ctx context.Context, dial probeDialer, a *HTTPGetAction) error {
	host := a.Host
	if host == "" {
		host = "127.0.0.1"
	}
	u, err := url.Parse(a.Path)
	if err != nil {
		u = &url.URL{Path: a.Path}
	}
	u.Scheme, u.Host = "http", net.JoinHostPort(host, strconv.Itoa(a.Port))
	if !strings.HasPrefix(u.Path, "/") { // as "http://host:port" + "/" + path
		u.Path, u.RawPath = "/"+u.Path, ""
	}
	host = u.Hostname()
	for redirects := 0; ; redirects++ {
		status, location, err := probeGet(ctx, dial, u)
		if err != nil {
			return err
		}
		if status < 200 || status > 399 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", status)
		}
		if location == "" {
			return nil
		}
		next, err := u.Parse(location)
		if err != nil {
			return fmt.Errorf("HTTP probe: redirect to %q: %w", location, err)
		}
		if next.Hostname() != host {
			return nil // not followed: the redirect is the answer
		}
		if redirects == maxProbeRedirects {
			return fmt.Errorf("HTTP probe: stopped after %d redirects", maxProbeRedirects)
		}
		u = next
	}
}

// probeGet sends one GET for u on a new connection. It returns the status
// and, for a redirect that net/http's client would follow, the location.
func probeGet(ctx context.Context, dial probeDialer, u *url.URL) (status int, location string, err error) {
	port := u.Port()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return 0, "", fmt.Errorf("HTTP probe: unsupported protocol scheme %q", u.Scheme)
	case port == "" && u.Scheme == "http":
		port = "80"
	case port == "":
		port = "443"
	}
	conn, err := dial(ctx, u.Scheme, net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return 0, "", err
	}
	defer closeProbe(conn)
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if u.Scheme == "https" {
		nc, ok := conn.(net.Conn)
		if !ok {
			return 0, "", fmt.Errorf("HTTP probe: cannot use TLS over %T", conn)
		}
		// As the kubelet: no verification.
		conn = tls.Client(nc, &tls.Config{InsecureSkipVerify: true, ServerName: u.Hostname()}) //nolint:gosec
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: " + probeUserAgent +
		"\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, "", ctxErr(ctx, err)
	}
	br := probeReaders.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() {
		br.Reset(nil)
		probeReaders.Put(br)
	}()
	resp, err := http.ReadResponse(br, nil)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(br, nil) // skip informational responses, as net/http does
	}
	if err != nil {
		return 0, "", ctxErr(ctx, err)
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody)); err != nil {
		return 0, "", ctxErr(ctx, err)
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		location = resp.Header.Get("Location")
	}
	return resp.StatusCode, location, nil
}

// probeConn is an HTTP probe's connection.
type probeConn interface {
	io.ReadWriteCloser
	SetDeadline(t time.Time) error
}

// probeDial connects to addr for an HTTP probe. For plain HTTP to an IP
// address the connection is the bare socket, as an *os.File, which takes
// fewer system calls to make and close than a net.Conn; otherwise it is a
// net.Conn from DialContext.
func (p *Pod) probeDial(ctx context.Context, scheme, addr string) (probeConn, error) {
	family, sa, ok := tcpSockaddr("tcp", addr)
	if !ok || scheme != "http" {
		return p.DialContext(ctx, "tcp", addr)
	}
	d, err := p.podDialer()
	if err != nil {
		return nil, fmt.Errorf("pod %q: dial: %w", p.name, err)
	}
	fd, err := d.socket(ctx, family)
	if err != nil {
		return nil, fmt.Errorf("pod %q: dial %s: %w", p.name, addr, err)
	}
	abortOnClose(fd)
	f, err := connect(ctx, fd, sa)
	if err != nil {
		return nil, fmt.Errorf("pod %q: dial %s: %w", p.name, addr, err)
	}
	return f, nil
}
