package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// CheckAddress checks that addr is a host:port (the host may be empty, for
// every interface). listen allows port 0, which picks a free port; an
// address to dial needs a port from 1 to 65535. The error does not name
// the field: the caller does.
func CheckAddress(addr string, listen bool) error {
	if addr == "" {
		return errors.New("required")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || n == 0 && !listen {
		return fmt.Errorf("%q: port %q is not a port number (1-65535)", addr, port)
	}
	return nil
}
