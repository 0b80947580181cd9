package jsonenc

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deep encoding/json lets objects and arrays nest.
const MaxDepth = 10000

// ScanObject calls set with each field of the JSON object text, in order
// (a duplicate key again), and reports whether text is one, with only
// spaces around it: it accepts exactly what encoding/json accepts. Strings
// are decoded, numbers are json.Numbers, objects and arrays are decoded by
// encoding/json (with UseNumber). When it reports false, set may have been
// called with the fields before the error.
func ScanObject(text string, set func(key string, v any)) bool {
	i := space(text, 0)
	if i == len(text) || text[i] != '{' {
		return false
	}
	i = space(text, i+1)
	if i < len(text) && text[i] == '}' {
		return space(text, i+1) == len(text)
	}
	for {
		end, plain := scanString(text, i)
		if end < 0 {
			return false
		}
		key, ok := unquote(text[i:end], plain)
		if !ok {
			return false
		}
		i = space(text, end)
		if i == len(text) || text[i] != ':' {
			return false
		}
		i = space(text, i+1)
		v, end, ok := scanField(text, i)
		if !ok {
			return false
		}
		set(key, v)
		if i = space(text, end); i == len(text) {
			return false
		}
		switch text[i] {
		case ',':
			i = space(text, i+1)
		case '}':
			return space(text, i+1) == len(text)
		default:
			return false
		}
	}
}

// scanField reads the value of a field that starts at i: it
// returns it and the index after it.
func scanField(s string, i int) (v any, end int, ok bool) {
	if i == len(s) {
		return nil, 0, false
	}
	switch s[i] {
	case '"':
		end, plain := scanString(s, i)
		if end < 0 {
			return nil, 0, false
		}
		v, ok := unquote(s[i:end], plain)
		return v, end, ok
	case '{', '[':
		end := scanValue(s, i, 1)
		if end < 0 {
			return nil, 0, false
		}
		dec := json.NewDecoder(strings.NewReader(s[i:end]))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return nil, 0, false
		}
		return x, end, true
	}
	end = scanValue(s, i, 1)
	switch {
	case end < 0:
		return nil, 0, false
	case s[i] == 't':
		return true, end, true
	case s[i] == 'f':
		return false, end, true
	case s[i] == 'n':
		return nil, end, true
	}
	return json.Number(s[i:end]), end, true
}

// scanValue returns the index after the JSON value that starts at
// i, or -1 if there is none; depth is how deeply it is nested.
func scanValue(s string, i, depth int) int {
	if i == len(s) {
		return -1
	}
	switch c := s[i]; {
	case c == '"':
		end, _ := scanString(s, i)
		return end
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			return -1
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		j := space(s, i+1)
		if j < len(s) && s[j] == closing {
			return j + 1
		}
		for {
			if c == '{' {
				if j, _ = scanString(s, j); j < 0 {
					return -1
				}
				if j = space(s, j); j == len(s) || s[j] != ':' {
					return -1
				}
				j = space(s, j+1)
			}
			if j = scanValue(s, j, depth+1); j < 0 {
				return -1
			}
			if j = space(s, j); j == len(s) {
				return -1
			}
			switch s[j] {
			case ',':
				j = space(s, j+1)
			case closing:
				return j + 1
			default:
				return -1
			}
		}
	case c == 't':
		return literal(s, i, "true")
	case c == 'f':
		return literal(s, i, "false")
	case c == 'n':
		return literal(s, i, "null")
	}
	return scanNumber(s, i)
}

func literal(s string, i int, lit string) int {
	if strings.HasPrefix(s[i:], lit) {
		return i + len(lit)
	}
	return -1
}

// scanNumber returns the index after the JSON number at i, or -1.
func scanNumber(s string, i int) int {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i == len(s):
		return -1
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		if i = digits(s, i+1); i < 0 {
			return -1
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		return digits(s, i)
	}
	return i
}

// digits returns the index after the digits at i, -1 if there is
// none.
func digits(s string, i int) int {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func space(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the JSON string that starts at
// i, or -1 if there is none; plain reports that it is its bytes: no escape,
// nothing but ASCII.
func scanString(s string, i int) (end int, plain bool) {
	if i == len(s) || s[i] != '"' {
		return -1, false
	}
	plain = true
	for j := i + 1; ; j++ {
		for j < len(s) && plainByte[s[j]] {
			j++
		}
		if j == len(s) {
			return -1, false
		}
		switch c := s[j]; {
		case c == '"':
			return j + 1, plain
		case c >= utf8.RuneSelf:
			plain = false
		case c < 0x20:
			return -1, false
		default: // '\\'
			plain = false
			if j++; j == len(s) {
				return -1, false
			}
			switch s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s) {
					return -1, false
				}
				for _, h := range []byte(s[j+1 : j+5]) {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1, false
					}
				}
				j += 4
			default:
				return -1, false
			}
		}
	}
}

// unquote decodes the JSON string q that scanString has
// checked: a plain one, or one in valid UTF-8 without escapes, is its
// bytes.
func unquote(q string, plain bool) (string, bool) {
	v := q[1 : len(q)-1]
	if plain || !strings.Contains(v, `\`) && utf8.ValidString(v) {
		return v, true
	}
	var u string
	return u, json.Unmarshal([]byte(q), &u) == nil
}
