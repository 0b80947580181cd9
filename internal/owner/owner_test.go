package owner

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNameAndAlive(t *testing.T) {
	n, err := Name("web")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(n, "web_"+strconv.Itoa(os.Getpid())+"_"))
	assert.True(t, Alive(n))
	other, err := Name("web")
	require.NoError(t, err)
	assert.NotEqual(t, n, other)

	start, err := startTime(os.Getpid())
	require.NoError(t, err)
	assert.False(t, Alive("p_"+strconv.Itoa(os.Getpid())+"_"+strconv.FormatUint(start+1, 10)+"_ab"), "same PID, other start time")
	assert.False(t, Alive("p_999999999_1_ab"), "no such process")
	assert.True(t, Alive("not-ours"), "foreign names are left alone")
}
