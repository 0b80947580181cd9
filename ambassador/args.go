package ambassador

import (
	"strconv"
	"time"
)

// args returns the podkit command line that runs h as a process.
func (h HTTP) args() []string {
	args := []string{"ambassador", "http", "--listen", h.Listen}
	for _, u := range h.Upstreams {
		args = append(args, "--upstream", weighted(u.URL, u.Weight))
	}
	for _, r := range h.Routes {
		args = append(args, "--route", r.Header+"="+r.Value+"="+r.Upstream)
	}
	if m := h.Mirror; m != nil {
		args = append(args, "--mirror", m.URL, "--mirror-percent", strconv.FormatFloat(m.Percent, 'g', -1, 64))
		if m.MaxBodyBytes != 0 {
			args = append(args, "--mirror-max-body-bytes", strconv.FormatInt(m.MaxBodyBytes, 10))
		}
		if m.MaxInFlight != 0 {
			args = append(args, "--mirror-max-in-flight", strconv.Itoa(m.MaxInFlight))
		}
	}
	if h.Timeout != 0 {
		args = append(args, "--timeout", h.Timeout.String())
	}
	return append(args, h.TLS.args()...)
}

// weighted writes an upstream as ADDR or ADDR=WEIGHT.
func weighted(addr string, weight int) string {
	if weight == 0 {
		return addr
	}
	return addr + "=" + strconv.Itoa(weight)
}

func (c *ClientTLS) args() []string {
	if c == nil {
		return nil
	}
	args := []string{"--tls"}
	for _, f := range []struct{ flag, value string }{
		{"--tls-ca-file", c.CAFile}, {"--tls-server-name", c.ServerName},
		{"--tls-cert-file", c.CertFile}, {"--tls-key-file", c.KeyFile},
	} {
		if f.value != "" {
			args = append(args, f.flag, f.value)
		}
	}
	if c.InsecureSkipVerify {
		args = append(args, "--tls-insecure-skip-verify")
	}
	return args
}

// args returns the podkit command line that runs t as a process.
func (t TCP) args() []string {
	args := []string{"ambassador", "tcp", "--listen", t.Listen}
	for _, u := range t.Upstreams {
		args = append(args, "--upstream", weighted(u.Addr, u.Weight))
	}
	if t.Balance != "" {
		args = append(args, "--balance", string(t.Balance))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--connect-timeout", t.ConnectTimeout}, {"--idle-timeout", t.IdleTimeout},
		{"--health-interval", t.HealthCheck.Interval}, {"--health-timeout", t.HealthCheck.Timeout},
		{"--retry-timeout", t.RetryTimeout},
	} {
		if d.v != 0 {
			args = append(args, d.flag, d.v.String())
		}
	}
	for _, n := range []struct {
		flag string
		v    int
	}{
		{"--max-conns", t.MaxConns}, {"--retries", t.Retries}, {"--rise", t.HealthCheck.Rise},
		{"--fall", t.HealthCheck.Fall}, {"--eject-after", t.EjectAfter},
	} {
		if n.v != 0 {
			args = append(args, n.flag, strconv.Itoa(n.v))
		}
	}
	if s := t.ListenTLS; s != nil {
		args = append(args, "--listen-tls-cert-file", s.CertFile, "--listen-tls-key-file", s.KeyFile)
	}
	return append(args, t.TLS.args()...)
}
