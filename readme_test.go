package podkit_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// README.zh-CN.md is kept in step with README.md: the same sections, the
// same code blocks and the same tables, row for row.
func TestChineseREADMEInStep(t *testing.T) {
	en, err := os.ReadFile("README.md")
	require.NoError(t, err)
	zh, err := os.ReadFile("README.zh-CN.md")
	require.NoError(t, err)
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile("(?s)```.*?```"), // code blocks, byte for byte
	} {
		assert.Equal(t, re.FindAllString(string(en), -1), re.FindAllString(string(zh), -1), "code blocks differ")
	}
	count := func(re string, text []byte) int { return len(regexp.MustCompile(re).FindAll(text, -1)) }
	assert.Equal(t, count(`(?m)^## `, en), count(`(?m)^## `, zh), "sections differ")
	assert.Equal(t, count(`(?m)^### `, en), count(`(?m)^### `, zh), "subsections differ")
	assert.Equal(t, count(`(?m)^\|`, en), count(`(?m)^\|`, zh), "table rows differ")
}
