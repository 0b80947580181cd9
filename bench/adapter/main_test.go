package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestShort runs the benchmark at tiny sizes, to keep it working.
func TestShort(t *testing.T) {
	testenv.RequireTool(t, "jq")
	testenv.RequireGo(t) // it builds cmd/podkit
	var out, logw bytes.Buffer
	if err := run(context.Background(), options{size: 300 << 10, reps: 1, short: true}, &out, &logw); err != nil {
		t.Fatalf("%v\n%s", err, logw.String())
	}
	for _, want := range []string{"| cat (floor) |", "| cat, 1 MiB pipe |", "| podkit json |", "| jq -c", "| podkit regex |", "Highest rate without loss", "client_golang + promhttp (floor)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "1GB": 1 << 30, "300MB": 300 << 20, "3m": 3 << 20, "512": 512, "1.5KB": 1536} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseSize("lots"); err == nil {
		t.Error("parseSize(lots) did not fail")
	}
}
