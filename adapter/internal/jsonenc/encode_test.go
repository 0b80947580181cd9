package jsonenc_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestAppendTime checks the records' time against time's own
// formatting, from year 0 to past 9999 (where it falls back to it).
func TestAppendTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	zones := []*time.Location{time.UTC, time.FixedZone("X", -9*3600-1800), time.FixedZone("Y", 14*3600)}
	times := []time.Time{{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	for range 10000 {
		sec := rng.Int64N(int64(10001*365.25*86400)) - 62135596800 - 366*86400 // years 0 to 10000
		times = append(times, time.Unix(sec, rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))]))
	}
	for _, tm := range times {
		want := tm.UTC().Format(jsonenc.TimeLayout)
		require.Equal(t, want, string(jsonenc.AppendTime([]byte("x"), tm))[1:], "%v", tm)
	}

	// The cache formats a time once, and another time anew.
	var c jsonenc.TimeCache
	a := time.Date(2024, 11, 25, 17, 2, 3, 4, time.UTC)
	for _, tm := range []time.Time{a, a, a.In(zones[1]), a.Add(1), a, {}, a} {
		require.Equal(t, tm.UTC().Format(jsonenc.TimeLayout), string(c.Append(nil, tm)))
	}
}

// TestAppendString checks the escaping of random strings, across the
// words it copies whole: the JSON reads back as the string (each invalid
// byte a U+FFFD), and holds no control character or line separator.
func TestAppendString(t *testing.T) {
	pieces := []string{"a", "plain words", "0123456789abcdef", `"`, `\`, "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"é", "日本", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀", "\xf0\x9f\x98"}
	rng := rand.New(rand.NewPCG(8, 8))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		var want strings.Builder
		for _, r := range s {
			want.WriteRune(r)
		}
		prefix := strings.Repeat("p", rng.IntN(9))
		out := jsonenc.AppendString([]byte(prefix), s)
		require.True(t, strings.HasPrefix(string(out), prefix))
		out = out[len(prefix):]
		var got string
		require.NoError(t, json.Unmarshal(out, &got), "%q", out)
		require.Equal(t, want.String(), got, "%q", s)
		require.True(t, utf8.Valid(out))
		require.False(t, strings.ContainsFunc(string(out), func(r rune) bool { return r < 0x20 || r == '\u2028' || r == '\u2029' }), "%q", out)
	}
}
