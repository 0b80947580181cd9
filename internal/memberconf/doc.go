// Package memberconf derives the command line of a ready-made member
// (an ambassador, adapter, sidecar or init step that podkit runs
// in-process, or as "podkit GROUP NAME ..." in an exported pod) from its
// Go configuration type, so that a member's configuration is defined once:
// the struct's fields, with their json names and help tags, give the flags,
// the --help text, the configuration document and the arguments that
// package kube exports, and parsing what Args wrote gives back an equal
// value.
//
// # The convention
//
// Every exported field with a json name (not "-") is a flag named after
// that name in kebab case: Field `json:"maxLineBytes"` is --max-line-bytes,
// unless a flag tag names it (a list called patterns in its document may
// be the repeatable flag --pattern). A help tag is the flag's help text.
// Its value is written as follows:
//
//   - strings, booleans, integers and floats (and named types of them):
//     their plain text; time.Duration as Go writes it ("1m30s");
//     syscall.Signal by name ("SIGHUP") or number; a type with
//     encoding.TextMarshaler and TextUnmarshaler (netip.Prefix, say) as
//     its text;
//   - a list of such values: the flag once per element, each occurrence
//     taken whole (a comma is part of the value);
//   - a map from strings to strings: the flag once per entry, as
//     KEY=VALUE, split at the first '=';
//   - anything else (a struct, a pointer to one, a list of structs, a map
//     of structs): a JSON document (or YAML flow, such as
//     {url: "http://a/?v=2", weight: 2}) of the value, or of one element
//     of a list, with the same rules inside: json names, durations as
//     strings, signals by name, unknown fields rejected.
//
// A struct may tag one scalar field `member:"primary"`: its short form is
// that field's plain value alone, so --upstream 10.0.0.1:6379 means
// {addr: 10.0.0.1:6379}. A value that begins with '{' is always a
// document, and Args writes the short form only when the other fields are
// zero and the value does not begin with '{'.
//
// A field tagged `member:"args"` (a list of strings) takes the positional
// arguments, after "--". Every member also accepts --config, a whole
// configuration document (JSON or YAML) inline, and --config-file, the
// path of one; flags given with them override the document's fields, and
// a list flag replaces the document's list.
//
// Args writes each flag as --name=value, so that a value beginning with
// '-' is never read as a flag, and a true boolean as --name.
package memberconf
