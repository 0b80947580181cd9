package ambassador

import (
	"strconv"
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
