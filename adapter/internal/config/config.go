package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Duration is a time.Duration whose JSON form is a Go duration string
// ("1.5s"). It also reads a number of nanoseconds, the form encoding/json
// gives a time.Duration.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		var n int64
		if json.Unmarshal(data, &n) != nil {
			return fmt.Errorf("duration %s: a string such as \"5s\" or a number of nanoseconds is required", data)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// DecodeStrict decodes the JSON value data into v, as json.Unmarshal does,
// but an unknown field, or data after the value, is an error.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// The decoder's words for what json.Unmarshal calls so.
			return errors.New("unexpected end of JSON input")
		}
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

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
