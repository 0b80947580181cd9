package kube_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README shows the table of supported fields as this package keeps it.
func TestREADMETableInStep(t *testing.T) {
	table, err := os.ReadFile("README-table.md")
	require.NoError(t, err)
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, body, _ := strings.Cut(string(table), "\n") // the comment line
	require.Contains(t, string(readme), strings.TrimSpace(body),
		"README.md's manifest table differs from kube/README-table.md: copy it over")
}
