package kube

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

var (
	// ErrInvalid is wrapped by the errors of Load, FromPod, Validate and
	// Export when a manifest is malformed or breaks a rule of Kubernetes'
	// (an unknown field, a wrong kind, a missing name, a named port the
	// container does not declare). The message names each field.
	ErrInvalid = errors.New("invalid manifest")
	// ErrUnsupported is wrapped by the errors of Load and FromPod when the
	// manifest sets fields podkit cannot honour, and by Export when the
	// spec holds what Kubernetes cannot express. The message names every
	// such field, not just the first.
	ErrUnsupported = errors.New("not supported")
)

// problems collects what is wrong with a manifest or a spec, field by
// field, so that one error can name them all.
type problems struct {
	invalid     []string
	unsupported []string
	warnings    []string
}

func (p *problems) invalidf(path, format string, args ...any) {
	p.invalid = append(p.invalid, path+": "+fmt.Sprintf(format, args...))
}

func (p *problems) unsupportedf(path, format string, args ...any) {
	p.unsupported = append(p.unsupported, path+": "+fmt.Sprintf(format, args...))
}

func (p *problems) warnf(path, format string, args ...any) {
	p.warnings = append(p.warnings, path+": "+fmt.Sprintf(format, args...))
}

// err returns nil, or one error naming every invalid and unsupported
// field, wrapping ErrInvalid, ErrUnsupported or both. what says what the
// fields belong to, such as `pod "web"`.
func (p *problems) err(what string) error {
	var format []string
	var args []any
	for _, part := range []struct {
		sentinel error
		fields   []string
	}{{ErrInvalid, p.invalid}, {ErrUnsupported, p.unsupported}} {
		if len(part.fields) == 0 {
			continue
		}
		format = append(format, "%w: %s")
		args = append(args, part.sentinel, strings.Join(unique(part.fields), "; "))
	}
	if len(format) == 0 {
		return nil
	}
	return fmt.Errorf("kube: "+what+": "+strings.Join(format, "; "), args...)
}

// unique returns ss without repeats, in order.
func unique(ss []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// field is a Kubernetes field path, such as spec.containers[0].env.
func field(path string, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, name string, i int) string {
	return fmt.Sprintf("%s[%d]", field(path, name), i)
}

// rule says what becomes of a field of a Kubernetes struct that the mapping
// code does not read itself: a warning (the field is harmless on one
// machine) or a refusal (podkit cannot honour it).
type rule struct {
	warn   string
	refuse string
}

// others reports every field of struct v that is set and that the mapping
// code does not handle: those with a rule get their warning or refusal,
// every other one is refused. A field the rules do not know, such as one a
// newer API adds, is thus refused rather than silently dropped. handled
// lists the JSON names that the caller maps itself.
func (p *problems) others(path string, v any, rules map[string]rule, handled ...string) {
	rv := reflect.Indirect(reflect.ValueOf(v))
	p.othersValue(path, rv, rules, handled)
}

func (p *problems) othersValue(path string, rv reflect.Value, rules map[string]rule, handled []string) {
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name, inline := jsonName(f)
		if name == "-" {
			continue
		}
		fv := rv.Field(i)
		if inline {
			p.othersValue(path, fv, rules, handled)
			continue
		}
		if slices.Contains(handled, name) || isEmpty(fv) {
			continue
		}
		r, ok := rules[name]
		switch {
		case !ok:
			p.unsupportedf(field(path, name), "podkit does not support this field")
		case r.warn != "":
			p.warnf(field(path, name), "%s", r.warn)
		case r.refuse != "":
			p.unsupportedf(field(path, name), "%s", r.refuse)
		}
	}
}

// jsonName returns the JSON name of a struct field, and whether its fields
// are inlined in its parent's.
func jsonName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) && f.Type.Kind() == reflect.Struct {
		return "", true
	}
	if name == "" {
		name = f.Name
	}
	return name, false
}

// isEmpty reports whether v is unset: its zero value, an empty slice or
// map (which YAML's [] and {} decode to), or a pointer to a struct of
// nothing but such fields.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Pointer:
		// affinity: {} sets nothing.
		return v.IsNil() || v.Elem().Kind() == reflect.Struct && isEmpty(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if !isEmpty(v.Field(i)) {
				return false
			}
		}
		return true
	}
	return v.IsZero()
}
