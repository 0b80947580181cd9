package jsonenc_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
)

// field is a field as ScanObject gives it.
type field struct {
	key   string
	value any
}

// decodeObject reads the fields of a JSON object with encoding/json's
// decoder, the reference ScanObject is checked against.
func decodeObject(text string) ([]field, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %v", err)
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, field{tok.(string), v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return fields, nil
}

// TestScanObject checks the one-pass JSON scanner against encoding/json on
// lines made of JSON's pieces, valid or nearly: it accepts what
// encoding/json accepts, and reads the same fields.
func TestScanObject(t *testing.T) {
	pieces := []string{`{`, `}`, `[`, `]`, `"k"`, `"v"`, `"`, `:`, `,`, ` `, "\t", "\n", `0`, `1`, `-`, `.`, `e`, `E`,
		`+`, `12`, `01`, `-0.5e+3`, `true`, `false`, `null`, `nul`, `tru`, `\`, `\"`, `\n`, `\u00e9`, `\u00G0`, `\ud800`,
		`\x`, `é`, "\xff", "\x01", "\x7f", `"a\"b"`, `"\\"`, "\"a\x01b\"", "\"\t\"", `"\q"`, `"\u12"`, `"\u00e9\ud83d\ude00"`, "\"\xff\"", `{"x":[1,{"y":null}]}`, `[[]]`, `{}`, `"k":1`, `"k":"v",`}
	rng := rand.New(rand.NewPCG(3, 4))
	valid := 0
	for range 200000 {
		var b strings.Builder
		if rng.IntN(3) > 0 {
			b.WriteString(`{`)
		}
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if rng.IntN(3) > 0 {
			b.WriteString(`}`)
		}
		line := b.String()
		var obj map[string]json.RawMessage
		want := json.Unmarshal([]byte(line), &obj) == nil && obj != nil
		var fields []field
		if got := jsonenc.ScanObject(line, func(k string, v any) { fields = append(fields, field{k, v}) }); got != want {
			t.Fatalf("%q: scanned as valid %v, encoding/json says %v", line, got, want)
		}
		if !want {
			continue
		}
		valid++
		slow, err := decodeObject(line)
		require.NoError(t, err)
		require.Equal(t, slow, fields, "%q", line)
	}
	assert.Greater(t, valid, 1000, "lines that are valid")

	// Nesting: as deep as encoding/json allows, and no deeper.
	for _, depth := range []int{jsonenc.MaxDepth - 1, jsonenc.MaxDepth, jsonenc.MaxDepth + 1} {
		line := `{"a":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
		var obj map[string]json.RawMessage
		want := json.Unmarshal([]byte(line), &obj) == nil
		assert.Equal(t, want, jsonenc.ScanObject(line, func(string, any) {}), "depth %d", depth)
		assert.Equal(t, depth <= jsonenc.MaxDepth, want)
	}
}

// FuzzScanObject checks the scanner against encoding/json on any line.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":"\u00e9","b":[1,{"c":null}]}`, `{"a":1}{}`, `{"a":tru}`, "{\"\xff\":1}", `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var fields []field
		got := jsonenc.ScanObject(line, func(k string, v any) { fields = append(fields, field{k, v}) })
		var obj map[string]json.RawMessage
		if want := json.Unmarshal([]byte(line), &obj) == nil && obj != nil; got != want {
			t.Fatalf("%q: scanned as valid %v, encoding/json says %v", line, got, want)
		}
		if got {
			slow, err := decodeObject(line)
			require.NoError(t, err)
			require.Equal(t, slow, fields, "%q", line)
		}
	})
}
