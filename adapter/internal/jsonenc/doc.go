// Package jsonenc is the log adapter's JSON: an encoder that appends
// strings, values and times to a byte slice (AppendString, AppendValue,
// AppendTime, TimeCache), always producing valid JSON in valid UTF-8 on one
// line, and a one-pass scanner that checks a line as it splits a JSON
// object into its fields (ScanObject), accepting exactly what encoding/json
// accepts. Both work eight bytes at a time where the text is plain ASCII.
// The functions are pure and safe for concurrent use; a TimeCache belongs
// to one goroutine. The package imports nothing of podkit.
package jsonenc
