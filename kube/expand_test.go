package kube

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Whatever the environment, the kubelet's expansion of an escaped string
// gives the string back.
func TestEscapeSurvivesExpansion(t *testing.T) {
	env := func(name string) (string, bool) { return "<" + name + ">", true }
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("$()ab ")
	for range 10000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		require.Equal(t, s, expand(escape(s), env), "%q escaped as %q", s, escape(s))
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "B": ""}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	for in, want := range map[string]string{
		"":          "",
		"$(A)":      "1",
		"x$(A)y":    "x1y",
		"$(B)":      "",
		"$(C)":      "$(C)",
		"$$(A)":     "$(A)",
		"$$$(A)":    "$1",
		"$$":        "$",
		"$":         "$",
		"a$":        "a$",
		"$A":        "$A",
		"$(A":       "$(A",
		"$()":       "$()",
		"$(A)$(A)":  "11",
		"$($(A))":   "$($(A))",
		"cost: $$5": "cost: $5",
	} {
		require.Equal(t, want, expand(in, lookup), "%q", in)
	}
}
