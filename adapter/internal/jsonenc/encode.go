package jsonenc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeLayout is the records' time: RFC 3339 in UTC with nine digits of
// fraction, so that records sort as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AppendValue appends a field's value as JSON.
func AppendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return AppendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case json.Number:
		// A number as JSON writes it (as a line's numbers are), checked
		// without encoding/json, which converts it to check it.
		if scanNumber(string(v), 0) == len(v) ||
			v != "" && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && json.Valid([]byte(v)) {
			return append(b, v...)
		}
		return AppendString(b, string(v))
	case nil:
		return append(b, "null"...)
	case time.Time:
		return append(AppendTime(append(b, '"'), v), '"')
	}
	// Objects and arrays, as encoding/json decoded them: it writes valid
	// UTF-8, and sorts the keys of an object.
	data, err := compact(v)
	if err != nil {
		return AppendString(b, fmt.Sprint(v))
	}
	return append(b, data...)
}

const hexDigits = "0123456789abcdef"

// plainByte marks the bytes that go into a JSON string as they are: ASCII
// but for control characters, '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escape says how each byte is written in a JSON string: as itself
// (width 1), as a backslash and second (width 2: '"', '\\', '\n', '\r',
// '\t'), or, width 0, by appendOther (other control characters, and
// the bytes past ASCII).
var escape = func() (t [256]struct{ first, second, width byte }) {
	for c := range t {
		e := &t[c]
		e.first, e.second = byte(c), byte(c)
		switch {
		case plainByte[c]:
			e.width = 1
		case c == '"' || c == '\\':
			e.first, e.width = '\\', 2
		case c == '\n':
			e.first, e.second, e.width = '\\', 'n', 2
		case c == '\r':
			e.first, e.second, e.width = '\\', 'r', 2
		case c == '\t':
			e.first, e.second, e.width = '\\', 't', 2
		}
	}
	return t
}()

// AppendString appends s as a JSON string: invalid UTF-8 becomes
// U+FFFD, control characters and the line separators U+2028 and U+2029 are
// escaped (so that a record stays one line for every reader). It is most
// of what a passthrough record costs.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	for len(s) > 0 {
		// Room for every byte as two, and for two words past the end.
		b = slices.Grow(b, 2*len(s)+16)
		n := len(b)
		i, j := escapeASCII(b[n:n+2*len(s)+16], s)
		b = b[:n+j]
		if i < len(s) {
			b, i = appendOther(b, s, i)
		}
		s = s[i:]
	}
	return append(b, '"')
}

// escapeASCII writes s into out as AppendString does, up to the
// first byte of width 0; it returns how much of s it read and of out it
// wrote. It goes a word of eight bytes at a time where they are ASCII
// without control characters: copied if none is '"' or '\\', else with a
// backslash put before those, in registers.
func escapeASCII(out []byte, s string) (i, j int) {
	for i < len(s) {
		if i+8 <= len(s) {
			w := load64(s[i : i+8])
			if (^((w&low7)+0x60*ones)|w)&highs == 0 {
				// The high bits of the bytes '"' and '\\'.
				special := zeroBytes(w^'"'*ones) | zeroBytes(w^'\\'*ones)
				if special == 0 {
					binary.LittleEndian.PutUint64(out[j:], w)
					i, j = i+8, j+8
					continue
				}
				// A backslash before each: from the last to the first,
				// the bytes from it on move up a byte to make room.
				m := uint8((special >> 7) * 0x0102040810204080 >> 56) // bit k for byte k
				lo, hi, n := w, uint64(0), 8+bits.OnesCount8(m)
				for m != 0 {
					k := uint(bits.Len8(m) - 1)
					m &^= 1 << k
					below := uint64(1)<<(8*k) - 1
					moved := lo &^ below
					hi = hi<<8 | moved>>56
					lo = lo&below | moved<<8 | '\\'<<(8*k)
				}
				binary.LittleEndian.PutUint64(out[j:], lo)
				binary.LittleEndian.PutUint64(out[j+8:], hi)
				i, j = i+8, j+n
				continue
			}
		}
		for end := min(i+8, len(s)); i < end; i++ {
			e := &escape[s[i]]
			if e.width == 0 {
				return i, j
			}
			out[j], out[j+1] = e.first, e.second
			j += int(e.width)
		}
	}
	return i, j
}

// Words of bytes.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	low7  = 0x7f7f7f7f7f7f7f7f
)

// zeroBytes returns the high bits of the zero bytes of x: exactly
// them (no borrow runs from one byte into the next).
func zeroBytes(x uint64) uint64 {
	return ^((x&low7 + low7) | x | low7)
}

// load64 reads the eight bytes of s as a little-endian word (one load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// appendOther appends s[i], a byte of width 0 in escape, or the
// rune it starts, and returns where s goes on.
func appendOther(b []byte, s string, i int) ([]byte, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf]), i + 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return append(b, `\ufffd`...), i + 1
	case r == '\u2028' || r == '\u2029':
		return append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf]), i + size
	}
	return append(b, s[i:i+size]...), i + size
}

// AppendTime appends t in UTC as TimeLayout formats it, at a
// fraction of the cost of time.Time.AppendFormat (every record has a time).
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = appendDigits(append(b, '-'), int(month), 2)
	b = appendDigits(append(b, '-'), day, 2)
	b = appendDigits(append(b, 'T'), hour, 2)
	b = appendDigits(append(b, ':'), minute, 2)
	b = appendDigits(append(b, ':'), sec, 2)
	b = appendDigits(append(b, '.'), t.Nanosecond(), 9)
	return append(b, 'Z')
}

// appendDigits appends v >= 0 in n digits (n <= 9), zero-padded.
func appendDigits(b []byte, v, n int) []byte {
	var d [9]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

// TimeCache keeps the last time a sink wrote, formatted: the lines of
// one read share their time, which passthrough records keep.
type TimeCache struct {
	t    time.Time
	text []byte
}

// append appends t as AppendTime does; on a nil cache too.
func (c *TimeCache) Append(b []byte, t time.Time) []byte {
	if c == nil {
		return AppendTime(b, t)
	}
	if len(c.text) == 0 || !c.t.Equal(t) {
		c.t, c.text = t, AppendTime(c.text[:0], t)
	}
	return append(b, c.text...)
}

// compact returns v as compact JSON, as encoding/json writes it but
// without HTML escapes.
func compact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
