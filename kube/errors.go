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

// ProblemKind says what a Problem means for a manifest.
type ProblemKind string

const (
	// ProblemInvalid is a manifest that Kubernetes would reject too: bad
	// syntax, an unknown field, a value of the wrong type or out of range.
	ProblemInvalid ProblemKind = "invalid"
	// ProblemUnsupported is a valid field that podkit cannot honour.
	ProblemUnsupported ProblemKind = "unsupported"
	// ProblemWarning is a field podkit accepts but ignores, or a document
	// it skips; it does not fail a load.
	ProblemWarning ProblemKind = "warning"
)

// Problem is one finding about a manifest, at one field. Its JSON form
// ({"document":0,"path":"spec.restartPolicy","message":"...","kind":"invalid"})
// is what podkit validate -o json prints.
type Problem struct {
	// Document is the index, from 0, of the YAML document the problem is
	// in, counting the documents that hold something.
	Document int `json:"document"`
	// Path is the field, as written in the manifest:
	// spec.containers[0].volumeMounts[0].mountPath, with a documents[i]
	// prefix when the file holds more than one document. It is empty for
	// a problem of a whole document or file that has no better place.
	Path string `json:"path"`
	// Line is the line of the file the problem is on, from 1: that of a
	// syntax error or a duplicate key, or of the field at Path (for a
	// missing field, of the deepest part of Path the file has); 0 when it
	// is not known.
	Line int `json:"line,omitempty"`
	// Message says what is wrong, in the terms of YAML and Kubernetes,
	// and how to fix it when that is known.
	Message string `json:"message"`
	// Kind says whether the problem fails the load.
	Kind ProblemKind `json:"kind"`

	// cause is an error the problem stands for, such as pod.New's, which
	// Error.Unwrap returns so that errors.Is finds its sentinel.
	cause error
	// whole marks a problem of the whole file, whose path has no
	// documents[i] prefix.
	whole bool
	// typed marks a value of the wrong type, which was dropped: other
	// problems at or under its path, or that follow from that path, are
	// not shown.
	typed bool
	// from is a path this problem follows from, besides its own: a
	// missing command follows from a missing image.
	from string
}

// String returns "path: message", or the message alone without a path.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Error is the error of Load, LoadFile and FromPod when a manifest has
// invalid or unsupported fields. It lists every problem found, warnings
// included, and wraps ErrInvalid, ErrUnsupported or both, as its problems
// say, and the errors some of them stand for (pod.ErrInvalidSpec when
// pod.New rejects a spec). Use errors.As to read the problems.
type Error struct {
	// What names what the problems belong to, such as `pod "web"` for
	// Load; it is empty for LoadFile, whose paths say the document.
	What string
	// Problems are every problem found, warnings included, document by
	// document (a file's skipped documents last).
	Problems []Problem
}

// Error lists the invalid and unsupported problems, the invalid first:
// "kube: pod \"web\": invalid manifest: a: ...; b: ...; not supported: c: ...".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kube")
	if e.What != "" {
		b.WriteString(": " + e.What)
	}
	for _, part := range []struct {
		sentinel error
		kind     ProblemKind
	}{{ErrInvalid, ProblemInvalid}, {ErrUnsupported, ProblemUnsupported}} {
		var fields []string
		for _, p := range e.Problems {
			if p.Kind == part.kind {
				fields = append(fields, p.String())
			}
		}
		if len(fields) > 0 {
			b.WriteString(": " + part.sentinel.Error() + ": " + strings.Join(fields, "; "))
		}
	}
	return b.String()
}

// Unwrap returns ErrInvalid and ErrUnsupported as the problems say, then
// the errors the problems stand for.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, part := range []struct {
		sentinel error
		kind     ProblemKind
	}{{ErrInvalid, ProblemInvalid}, {ErrUnsupported, ProblemUnsupported}} {
		if slices.ContainsFunc(e.Problems, func(p Problem) bool { return p.Kind == part.kind }) {
			errs = append(errs, part.sentinel)
		}
	}
	for _, p := range e.Problems {
		if p.cause != nil {
			errs = append(errs, p.cause)
		}
	}
	return errs
}

// problems collects what is wrong with a manifest or a spec, field by
// field, so that one error can name them all.
type problems struct {
	list []Problem
	// doc is the Document of the problems added.
	doc int
	// item is the path of the object in its document, items[i] in a
	// List, which the paths of the problems added are under.
	item string
	// srcs, when set, are the documents' text, from which tidy gives
	// each problem its line (see locate).
	srcs []source
}

// push adds q as a problem of the current document and object.
func (p *problems) push(q Problem) {
	q.Document = p.doc
	if p.item != "" {
		q.Path = under(p.item, q.Path)
	}
	p.list = append(p.list, q)
}

func (p *problems) add(kind ProblemKind, path, format string, args ...any) {
	p.push(Problem{Path: path, Message: fmt.Sprintf(format, args...), Kind: kind})
}

func (p *problems) invalidf(path, format string, args ...any) {
	p.add(ProblemInvalid, path, format, args...)
}

func (p *problems) unsupportedf(path, format string, args ...any) {
	p.add(ProblemUnsupported, path, format, args...)
}

func (p *problems) warnf(path, format string, args ...any) {
	p.add(ProblemWarning, path, format, args...)
}

// follows says that the last problem added follows from path too, so
// that it is not shown when path holds a value of the wrong type.
func (p *problems) follows(path string) {
	if len(p.list) > 0 {
		p.list[len(p.list)-1].from = under(p.item, path)
	}
}

// take adds the problems of a validator, as the current document's.
func (p *problems) take(list []Problem) {
	for _, q := range list {
		p.push(q)
	}
}

// failed reports whether any problem is invalid or unsupported.
func (p *problems) failed() bool {
	return slices.ContainsFunc(p.list, func(q Problem) bool { return q.Kind != ProblemWarning })
}

// docFailed reports whether any problem of the current document is
// invalid or unsupported.
func (p *problems) docFailed() bool {
	return slices.ContainsFunc(p.list, func(q Problem) bool { return q.Kind != ProblemWarning && q.Document == p.doc })
}

// warnings returns the warnings as "path: message".
func (p *problems) warnings() []string {
	var out []string
	for _, q := range p.tidy() {
		if q.Kind == ProblemWarning {
			out = append(out, q.String())
		}
	}
	return out
}

// tidy returns the problems without repeats, and without those at or
// under the path of a value of the wrong type, which follow from it (a
// list given as a string is also an empty list).
func (p *problems) tidy() []Problem {
	type key struct {
		doc       int
		path, msg string
		kind      ProblemKind
	}
	locate(p.list, p.srcs)
	seen := make(map[key]bool)
	var out []Problem
	for _, q := range p.list {
		k := key{q.Document, q.Path, q.Message, q.Kind}
		if seen[k] || !q.typed && p.underTyped(q) {
			continue
		}
		seen[k] = true
		out = append(out, q)
	}
	return out
}

func (p *problems) underTyped(q Problem) bool {
	for _, t := range p.list {
		if t.typed && t.Document == q.Document && (within(q.Path, t.Path) || q.from != "" && within(q.from, t.Path)) {
			return true
		}
	}
	return false
}

// within reports whether path is base or a field or item under it.
func within(path, base string) bool {
	if !strings.HasPrefix(path, base) {
		return false
	}
	rest := path[len(base):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// err returns nil, or an *Error naming every invalid and unsupported
// field, wrapping ErrInvalid, ErrUnsupported or both. what says what the
// fields belong to, such as `pod "web"`.
func (p *problems) err(what string) error {
	if !p.failed() {
		return nil
	}
	return &Error{What: what, Problems: p.tidy()}
}

// field is a Kubernetes field path, such as spec.containers[0].env.
func field(path string, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// under returns path under base: base.path, or either when the other is
// empty.
func under(base, path string) string {
	switch {
	case base == "":
		return path
	case path == "":
		return base
	}
	return base + "." + path
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
