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

// HTTP probes and HTTP hooks share one request path, httpGet, as the
// kubelet sends them (k8s.io/kubernetes/pkg/probe/http and
// pkg/kubelet/lifecycle), without net/http's client and transport: every
// GET goes on a new connection made inside the pod (Connection: close),
// with no Accept-Encoding and Accept: */*; a status from 200 to 399 is
// success; up to 10 redirects are followed; up to 10 KiB of the body is
// read; the context's deadline bounds the whole exchange (a probe's
// timeout, a hook's grace period). What differs between the two is an
// httpKind.
const (
	maxHTTPBody      = 10 << 10
	maxHTTPRedirects = 10
)

// httpKind is what differs between the kubelet's HTTP probes and hooks.
type httpKind struct {
	name      string // in errors
	userAgent string
	// followOtherHosts follows a redirect to another host name, as the
	// net/http client the kubelet runs hooks with does. A probe does not
	// follow one: the redirect is its answer, and a success.
	followOtherHosts bool
}

var (
	httpProbeKind = httpKind{name: "HTTP probe", userAgent: "kube-probe/podkit"}
	httpHookKind  = httpKind{name: "HTTP hook", userAgent: "kube-lifecycle/podkit", followOtherHosts: true}
)

var httpReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}

// httpDialer connects to addr (host:port) for an HTTP GET using scheme.
type httpDialer func(ctx context.Context, scheme, addr string) (httpConn, error)

// httpGet sends the GET of a, following redirects as kind says,
// connecting with dial, and reports whether the answer is a success.
func httpGet(ctx context.Context, dial httpDialer, a *HTTPGetAction, kind httpKind) error {
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
		status, location, err := getOnce(ctx, dial, u, kind)
		if err != nil {
			// As net/http's client words it, and the kubelet's event
			// with it: Get "http://...": dial tcp ...
			return &url.Error{Op: "Get", URL: u.String(), Err: err}
		}
		if status < 200 || status > 399 {
			return fmt.Errorf("%s failed with statuscode: %d", kind.name, status)
		}
		if location == "" {
			return nil
		}
		next, err := u.Parse(location)
		if err != nil {
			return fmt.Errorf("%s: redirect to %q: %w", kind.name, location, err)
		}
		if next.Hostname() != host && !kind.followOtherHosts {
			return nil // not followed: the redirect is the answer
		}
		if redirects == maxHTTPRedirects {
			return fmt.Errorf("%s: stopped after %d redirects", kind.name, maxHTTPRedirects)
		}
		u = next
	}
}

// getOnce sends one GET for u on a new connection. It returns the status
// and, for a redirect that net/http's client would follow, the location.
func getOnce(ctx context.Context, dial httpDialer, u *url.URL, kind httpKind) (status int, location string, err error) {
	port := u.Port()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return 0, "", fmt.Errorf("%s: unsupported protocol scheme %q", kind.name, u.Scheme)
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
			return 0, "", fmt.Errorf("%s: cannot use TLS over %T", kind.name, conn)
		}
		// As the kubelet: no verification.
		conn = tls.Client(nc, &tls.Config{InsecureSkipVerify: true, ServerName: u.Hostname()}) //nolint:gosec
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: " + kind.userAgent +
		"\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, "", ctxErr(ctx, err)
	}
	br := httpReaders.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() {
		br.Reset(nil)
		httpReaders.Put(br)
	}()
	resp, err := http.ReadResponse(br, nil)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(br, nil) // skip informational responses, as net/http does
	}
	if err != nil {
		return 0, "", ctxErr(ctx, err)
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxHTTPBody)); err != nil {
		return 0, "", ctxErr(ctx, err)
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		location = resp.Header.Get("Location")
	}
	return resp.StatusCode, location, nil
}

// httpConn is the connection of one GET.
type httpConn interface {
	io.ReadWriteCloser
	SetDeadline(t time.Time) error
}

// dialHTTP is the pod's httpDialer: it connects to addr from inside the
// pod. For plain HTTP to an IP address the connection is the bare socket,
// as an *os.File, which takes fewer system calls to make and close than a
// net.Conn; otherwise it is a net.Conn from DialContext.
func (p *Pod) dialHTTP(ctx context.Context, scheme, addr string) (httpConn, error) {
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
		return nil, fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	abortOnClose(fd)
	f, err := connect(ctx, fd, sa)
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s: %w", addr, err)
	}
	return f, nil
}
