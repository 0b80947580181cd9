package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/examples/internal/exampletest"
	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestFailover(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "redis-server")
	testenv.RequireTool(t, "redis-cli")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), 5*time.Second, &out))
	got := out.String()
	ports := map[string]bool{}
	for _, m := range regexp.MustCompile(`app \| hits=\d+ from redis on port (\d+)`).FindAllStringSubmatch(got, -1) {
		ports[m[1]] = true
	}
	assert.Len(t, ports, 2, "the app was not served by both instances, one after the other:\n%s", got)
	assert.Contains(t, got, "killing the redis-server on")
	assert.Regexp(t, `killing the redis-server on [^\n]+\n(app \| [^\n]*\n)*app \| hits=1 from`, got,
		"after the failover the app counts afresh on the other instance")
}

func TestManifest(t *testing.T) {
	exampletest.CheckManifest(t, ".")
}
