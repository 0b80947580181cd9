package memberconf

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"syscall"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	signalType   = reflect.TypeFor[syscall.Signal]()
)

// isScalar reports whether values of t are written as plain text.
func isScalar(t reflect.Type) bool {
	if t == durationType || t == signalType || hasText(t) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// hasText reports whether t reads and writes itself as text.
func hasText(t reflect.Type) bool {
	return t.Implements(textMarshalerType) && reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// encodable checks that every value of t has a configuration form.
func encodable(t reflect.Type, seen map[reflect.Type]bool) error {
	if isScalar(t) || seen[t] {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		return encodable(t.Elem(), seen)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("%s: map keys must be strings", t)
		}
		return encodable(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if _, ok := jsonName(sf); !ok {
				continue
			}
			if err := encodable(sf.Type, seen); err != nil {
				return fmt.Errorf("%s.%s: %w", t.Name(), sf.Name, err)
			}
		}
		return nil
	}
	return fmt.Errorf("%s has no configuration form", t)
}

// scalarText writes a scalar as its flag value.
func scalarText(v reflect.Value) (string, error) {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String(), nil
	case v.Type() == signalType:
		if name := unix.SignalName(syscall.Signal(v.Int())); name != "" {
			return name, nil
		}
		return strconv.FormatInt(v.Int(), 10), nil
	case hasText(v.Type()):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), err
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits()), nil
	}
	return "", fmt.Errorf("%s is not a scalar", v.Type())
}

// setScalar sets the scalar v from its text.
func setScalar(v reflect.Value, text string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%q: not a duration (such as 500ms, 10s or 1m30s)", text)
		}
		v.SetInt(int64(d))
		return nil
	case v.Type() == signalType:
		sig, err := parseSignal(text)
		if err != nil {
			return err
		}
		v.SetInt(int64(sig))
		return nil
	case hasText(v.Type()):
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			return fmt.Errorf("%q: %w", text, err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q: not true or false", text)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(text, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q: not an integer of %d bits", text, v.Type().Bits())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(text, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q: not an unsigned integer of %d bits", text, v.Type().Bits())
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(text, v.Type().Bits())
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%q: not a finite number", text)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("%s is not a scalar", v.Type())
	}
	return nil
}

// parseSignal reads a signal by name (SIGHUP or HUP) or number.
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("%d: not a signal number (1 to 64)", n)
		}
		return syscall.Signal(n), nil
	}
	if sig := unix.SignalNum(s); sig != 0 {
		return sig, nil
	}
	if sig := unix.SignalNum("SIG" + s); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("%q: unknown signal", s)
}

// encodeValue returns v's configuration document as a value for
// encoding/json: structs as objects of their non-zero fields by json name,
// durations and signals as text.
func encodeValue(v reflect.Value) (any, error) {
	if isScalar(v.Type()) {
		switch {
		case v.Type() == durationType, v.Type() == signalType, hasText(v.Type()), v.Kind() == reflect.String:
			return scalarText(v)
		}
		return v.Interface(), nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		return encodeValue(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil, nil
		}
		out := make([]any, v.Len())
		for i := range v.Len() {
			e, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if v.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			e, err := encodeValue(v.MapIndex(k))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k.String()] = e
		}
		return out, nil
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			name, ok := jsonName(sf)
			if !ok || v.Field(i).IsZero() {
				continue
			}
			e, err := encodeValue(v.Field(i))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s has no configuration form", v.Type())
}

// Encode returns cfg's configuration document in JSON: what --config
// takes, with durations and signals as text and zero fields left out.
func Encode(cfg any) ([]byte, error) {
	doc, err := encodeValue(reflect.ValueOf(cfg))
	if err != nil {
		return nil, fmt.Errorf("memberconf: %w", err)
	}
	return json.Marshal(doc)
}

// Decode reads a configuration document (JSON or YAML) into the value cfg
// points to, over what it holds. Unknown fields are errors that name
// their path.
func Decode(doc []byte, cfg any) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("memberconf: decode needs a pointer, not %T", cfg)
	}
	return decodeDocument(doc, v.Elem(), "")
}

// decodeDocument reads one JSON or YAML document into v; path names v in
// errors. A second document, or anything after the first one's value, is
// an error, and so is a key given twice.
func decodeDocument(doc []byte, v reflect.Value, path string) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(doc))
	var first, second yamlv3.Node
	if err := dec.Decode(&first); err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", orDocument(path), err)
	}
	if err := dec.Decode(&second); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%s: one document, not several", orDocument(path))
		}
		return fmt.Errorf("%s: after the document: %w", orDocument(path), err)
	}
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", orDocument(path), err)
	}
	jdec := json.NewDecoder(bytes.NewReader(js))
	jdec.UseNumber()
	var data any
	if err := jdec.Decode(&data); err != nil {
		return fmt.Errorf("%s: %w", orDocument(path), err)
	}
	return decodeValue(data, v, path)
}

func orDocument(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

// decodeValue sets v from data, a value decoded by encoding/json with
// UseNumber.
func decodeValue(data any, v reflect.Value, path string) error {
	if data == nil {
		v.SetZero()
		return nil
	}
	wrong := func(want string) error {
		return fmt.Errorf("%s: want %s, got %s", orDocument(path), want, describe(data))
	}
	if isScalar(v.Type()) {
		switch d := data.(type) {
		case string:
			if v.Kind() == reflect.Bool || (v.Kind() != reflect.String && v.Type() != durationType && v.Type() != signalType && !hasText(v.Type())) {
				return wrong(scalarWant(v.Type()))
			}
			if err := setScalar(v, d); err != nil {
				return fmt.Errorf("%s: %w", orDocument(path), err)
			}
		case json.Number:
			if v.Kind() == reflect.String || v.Type() == durationType || hasText(v.Type()) || v.Kind() == reflect.Bool {
				return wrong(scalarWant(v.Type()))
			}
			if err := setScalar(v, d.String()); err != nil {
				return fmt.Errorf("%s: %w", orDocument(path), err)
			}
		case bool:
			if v.Kind() != reflect.Bool {
				return wrong(scalarWant(v.Type()))
			}
			v.SetBool(d)
		default:
			return wrong(scalarWant(v.Type()))
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			e.Elem().Set(v.Elem())
		}
		if err := decodeValue(data, e.Elem(), path); err != nil {
			return err
		}
		v.Set(e)
	case reflect.Slice:
		list, ok := data.([]any)
		if !ok {
			return wrong("a list")
		}
		s := reflect.MakeSlice(v.Type(), len(list), len(list))
		for i, e := range list {
			if err := decodeValue(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		obj, ok := data.(map[string]any)
		if !ok {
			return wrong("an object")
		}
		m := reflect.MakeMapWithSize(v.Type(), len(obj))
		for k, e := range obj {
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(e, ev, join(path, k)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Struct:
		if text, ok := data.(string); ok {
			if i, ok := primaryField(v.Type()); ok {
				v.SetZero()
				if err := setScalar(v.Field(i), text); err != nil {
					return fmt.Errorf("%s: %w", orDocument(path), err)
				}
				return nil
			}
		}
		obj, ok := data.(map[string]any)
		if !ok {
			return wrong("an object")
		}
		byName := map[string]int{}
		for i := range v.NumField() {
			if name, ok := jsonName(v.Type().Field(i)); ok {
				byName[name] = i
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			i, ok := byName[k]
			if !ok {
				return fmt.Errorf("%s: unknown field", join(path, k))
			}
			if err := decodeValue(obj[k], v.Field(i), join(path, k)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s: %s has no configuration form", orDocument(path), v.Type())
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func scalarWant(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as \"10s\""
	case t == signalType:
		return "a signal name or number"
	case hasText(t), t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	default:
		return "a number"
	}
}

func describe(data any) string {
	switch d := data.(type) {
	case string:
		return strconv.Quote(d)
	case json.Number:
		return "the number " + d.String()
	case bool:
		return strconv.FormatBool(d)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%v", data)
}
