package memberconf

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/spf13/pflag"
)

// A Set parses a member's command line into its configuration. It is not
// safe for concurrent use.
type Set struct {
	fs     *pflag.FlagSet
	cfg    reflect.Value // the struct the pointer given to New points to
	fields []field
	args   *field // the field of the positional arguments, if any
	// assignments are the field flags in command-line order.
	assignments []assignment
	config      string // --config
	configFile  string // --config-file
}

type field struct {
	index []int
	json  string // the field's json name
	flag  string // kebab case of json
	help  string
	shape shape
}

// shape is how a field's value is written on the command line.
type shape int

const (
	scalar     shape = iota // plain text
	scalarList              // the flag once per element
	stringMap               // the flag once per KEY=VALUE
	document                // JSON or YAML of the value
	docList                 // the flag once per element, each a document
)

type assignment struct {
	f     *field
	value string
}

// New returns the flags of the configuration cfg points to, a struct. It
// fails if a field's type has no command-line form (a func, a channel).
func New(name string, cfg any) (*Set, error) {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("memberconf: %s: configuration must be a pointer to a struct, not %T", name, cfg)
	}
	s := &Set{fs: pflag.NewFlagSet(name, pflag.ContinueOnError), cfg: v.Elem()}
	s.fs.SortFlags = false
	s.fs.SetOutput(discard{})
	fields, err := fieldsOf(v.Elem().Type())
	if err != nil {
		return nil, fmt.Errorf("memberconf: %s: %w", name, err)
	}
	s.fields = fields
	for i := range s.fields {
		f := &s.fields[i]
		if f.shape == scalarList && f.isArgs(v.Elem().Type()) {
			s.args = f
			continue
		}
		fl := s.fs.VarPF(&flagValue{s: s, f: f}, f.flag, "", f.help)
		if t := f.typ(v.Elem().Type()); t.Kind() == reflect.Bool {
			fl.NoOptDefVal = "true"
		}
	}
	s.fs.StringVar(&s.config, "config", "", "the whole configuration as one JSON or YAML document; flags override its fields")
	s.fs.StringVar(&s.configFile, "config-file", "", "a file holding the whole configuration as JSON or YAML; flags override its fields")
	return s, nil
}

// Flags returns the flag set, for help text. Parse, not the flag set's
// own Parse, fills the configuration.
func (s *Set) Flags() *pflag.FlagSet { return s.fs }

// Parse parses args into the configuration: first the --config or
// --config-file document, over the values the configuration already
// holds, then each flag in order. An error names the flag or the
// document's field and the bad value.
func (s *Set) Parse(args []string) error {
	s.assignments, s.config, s.configFile = nil, "", ""
	if err := s.fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", s.fs.Name(), err)
	}
	if s.config != "" && s.configFile != "" {
		return fmt.Errorf("%s: --config and --config-file: give one", s.fs.Name())
	}
	doc := []byte(s.config)
	if s.configFile != "" {
		var err error
		if doc, err = readConfigFile(s.configFile); err != nil {
			return fmt.Errorf("%s: --config-file: %w", s.fs.Name(), err)
		}
	}
	if len(bytes.TrimSpace(doc)) > 0 {
		if err := decodeDocument(doc, s.cfg, ""); err != nil {
			return fmt.Errorf("%s: configuration: %w", s.fs.Name(), err)
		}
	}
	reset := map[*field]bool{}
	for _, a := range s.assignments {
		fv := s.cfg.FieldByIndex(a.f.index)
		if !reset[a.f] && (a.f.shape == scalarList || a.f.shape == docList || a.f.shape == stringMap) {
			fv.SetZero()
			reset[a.f] = true
		}
		if err := assign(fv, a.f.shape, a.value, a.f.json); err != nil {
			return fmt.Errorf("%s: --%s: %w", s.fs.Name(), a.f.flag, err)
		}
	}
	rest := s.fs.Args()
	if s.args != nil {
		if len(rest) > 0 {
			s.cfg.FieldByIndex(s.args.index).Set(reflect.ValueOf(append([]string(nil), rest...)).Convert(s.args.typ(s.cfg.Type())))
		}
	} else if len(rest) > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", s.fs.Name(), rest)
	}
	return nil
}

// maxConfigFileBytes bounds a --config-file.
const maxConfigFileBytes = 4 << 20

func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigFileBytes)
	}
	return b, nil
}

// Parse parses args into the configuration cfg points to: New, then
// Set.Parse.
func Parse(name string, args []string, cfg any) error {
	s, err := New(name, cfg)
	if err != nil {
		return err
	}
	return s.Parse(args)
}

// Args returns the command-line arguments that parse back into a value
// equal to cfg (a struct, or a pointer to one): a --name=value flag for
// each field that is not its type's zero value, in the order of the
// fields, and the positional arguments last, after "--".
func Args(cfg any) ([]string, error) {
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("memberconf: configuration must be a struct, not %T", cfg)
	}
	fields, err := fieldsOf(v.Type())
	if err != nil {
		return nil, fmt.Errorf("memberconf: %w", err)
	}
	var args, positional []string
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		if fv.IsZero() {
			continue
		}
		if f.shape == scalarList && f.isArgs(v.Type()) {
			for i := range fv.Len() {
				positional = append(positional, fv.Index(i).String())
			}
			continue
		}
		values, err := flagValues(fv, f.shape)
		if err != nil {
			return nil, fmt.Errorf("memberconf: %s: %w", f.json, err)
		}
		for _, s := range values {
			if f.shape == scalar && fv.Kind() == reflect.Bool {
				args = append(args, "--"+f.flag) // true: a false one is zero
				continue
			}
			args = append(args, "--"+f.flag+"="+s)
		}
	}
	if len(positional) > 0 {
		args = append(append(args, "--"), positional...)
	}
	return args, nil
}

// flagValues writes a field's value as one or more flag values.
func flagValues(v reflect.Value, sh shape) ([]string, error) {
	switch sh {
	case scalar:
		s, err := scalarText(v)
		return []string{s}, err
	case scalarList, docList:
		var out []string
		for i := range v.Len() {
			elem := scalar
			if sh == docList {
				elem = document
			}
			one, err := flagValues(v.Index(i), elem)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, one...)
		}
		return out, nil
	case stringMap:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			if strings.Contains(k, "=") {
				return nil, fmt.Errorf("key %q: has '='", k)
			}
			out = append(out, k+"="+v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())).String())
		}
		return out, nil
	default:
		if text, ok := shortText(v); ok {
			return []string{text}, nil
		}
		doc, err := encodeValue(v)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(doc)
		return []string{string(b)}, err
	}
}

// assign sets v, a field of the given shape, from one flag value.
func assign(v reflect.Value, sh shape, text, path string) error {
	switch sh {
	case scalar:
		return setScalar(v, text)
	case scalarList, docList:
		elem := reflect.New(v.Type().Elem()).Elem()
		var err error
		switch {
		case sh == scalarList:
			err = setScalar(elem, text)
		case isShort(elem.Type(), text):
			err = setShort(elem, text)
		default:
			err = decodeDocument([]byte(text), elem, fmt.Sprintf("%s[%d]", path, v.Len()))
		}
		if err != nil {
			return err
		}
		v.Set(reflect.Append(v, elem))
		return nil
	case stringMap:
		key, value, ok := strings.Cut(text, "=")
		if !ok || key == "" {
			return fmt.Errorf("%q: want KEY=VALUE", text)
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), reflect.ValueOf(value).Convert(v.Type().Elem()))
		return nil
	default:
		if isShort(v.Type(), text) {
			return setShort(v, text)
		}
		return decodeDocument([]byte(text), v, path)
	}
}

// primaryField returns the index of the field of struct type t (or of the
// struct a pointer type points to) tagged `member:"primary"`, the field a
// short value sets.
func primaryField(t reflect.Type) (int, bool) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return 0, false
	}
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("member") == "primary" && isScalar(t.Field(i).Type) {
			return i, true
		}
	}
	return 0, false
}

// isShort reports whether text is the short form of a value of type t: the
// plain value of its primary field, not a document.
func isShort(t reflect.Type, text string) bool {
	_, ok := primaryField(t)
	return ok && !strings.HasPrefix(strings.TrimSpace(text), "{")
}

// setShort sets v, a struct or a pointer to one, to the value whose
// primary field holds text and whose other fields are zero.
func setShort(v reflect.Value, text string) error {
	i, _ := primaryField(v.Type())
	e := reflect.New(v.Type())
	target := e.Elem()
	if v.Kind() == reflect.Pointer {
		target.Set(reflect.New(v.Type().Elem()))
		target = target.Elem()
	}
	if err := setScalar(target.Field(i), text); err != nil {
		return err
	}
	v.Set(e.Elem())
	return nil
}

// shortText returns the short form of v, a struct or a pointer to one, if
// it has one: only its primary field is set, and its text is not read as
// a document.
func shortText(v reflect.Value) (string, bool) {
	i, ok := primaryField(v.Type())
	if !ok {
		return "", false
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	for j := range v.NumField() {
		if j != i && !v.Field(j).IsZero() {
			return "", false
		}
	}
	text, err := scalarText(v.Field(i))
	if err != nil || !isShort(v.Type(), text) {
		return "", false
	}
	return text, true
}

// flagValue collects a field's flag values in command-line order; Parse
// applies them after the configuration document.
type flagValue struct {
	s *Set
	f *field
}

func (fv *flagValue) Set(text string) error {
	fv.s.assignments = append(fv.s.assignments, assignment{f: fv.f, value: text})
	return nil
}

func (fv *flagValue) String() string { return "" }

func (fv *flagValue) Type() string {
	t := fv.f.typ(fv.s.cfg.Type())
	switch fv.f.shape {
	case scalar:
		return scalarTypeName(t)
	case scalarList:
		return scalarTypeName(t.Elem()) + " (repeatable)"
	case stringMap:
		return "key=value (repeatable)"
	case docList:
		return "json (repeatable)"
	default:
		return "json"
	}
}

func scalarTypeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == signalType:
		return "signal"
	case t.Kind() == reflect.Bool:
		return ""
	case t.Kind() == reflect.String:
		return "string"
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return "text"
	default:
		return t.Kind().String()
	}
}

func (f *field) typ(t reflect.Type) reflect.Type { return t.FieldByIndex(f.index).Type }

func (f *field) isArgs(t reflect.Type) bool {
	return t.FieldByIndex(f.index).Tag.Get("member") == "args"
}

// fieldsOf lists the configuration fields of struct type t.
func fieldsOf(t reflect.Type) ([]field, error) {
	var fields []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, ok := jsonName(sf)
		if !ok {
			continue
		}
		sh, err := shapeOf(sf.Type)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", sf.Name, err)
		}
		if sf.Tag.Get("member") == "args" && (sh != scalarList || sf.Type.Elem().Kind() != reflect.String) {
			return nil, fmt.Errorf("field %s: positional arguments must be a list of strings", sf.Name)
		}
		flag := sf.Tag.Get("flag")
		if flag == "" {
			flag = kebab(name)
		}
		fields = append(fields, field{index: sf.Index, json: name, flag: flag, help: sf.Tag.Get("help"), shape: sh})
	}
	return fields, nil
}

// jsonName returns the field's name in the configuration document; ok is
// false for a field that has none.
func jsonName(sf reflect.StructField) (string, bool) {
	if !sf.IsExported() {
		return "", false
	}
	tag := sf.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return "", false
	}
	if name == "" {
		name = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
	}
	return name, true
}

func shapeOf(t reflect.Type) (shape, error) {
	if err := encodable(t, map[reflect.Type]bool{}); err != nil {
		return 0, err
	}
	switch {
	case isScalar(t):
		return scalar, nil
	case t.Kind() == reflect.Slice && isScalar(t.Elem()):
		return scalarList, nil
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		return stringMap, nil
	case t.Kind() == reflect.Slice:
		return docList, nil
	default:
		return document, nil
	}
}

// kebab turns a json name into a flag name: maxLineBytes is
// max-line-bytes, caFile is ca-file, podIP is pod-ip.
func kebab(name string) string {
	var b strings.Builder
	runes := []rune(name)
	for i, r := range runes {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && !unicode.IsUpper(runes[i-1])
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			if i > 0 && (prevLower || nextLower) {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var (
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)
