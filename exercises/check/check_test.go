package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if checkerDir != "" {
		os.RemoveAll(checkerDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// running bounds how many programs the tests run at once: the checks
// measure timings (back-off, probes), which a crowded machine skews.
var running = make(chan struct{}, 4)

// TestSolutions checks every reference solution with the checker command,
// as a learner runs it: "go run ./exercises/check -solution N" must pass.
func TestSolutions(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireGo(t) // the checker runs go test
	t.Parallel()
	for _, ex := range exercises {
		t.Run(ex.dir, func(t *testing.T) {
			t.Parallel()
			out, code := runChecker(t, "-v", "-solution", strconv.Itoa(ex.num))
			assert.NotContains(t, out, "\nFAIL ", out)
			assert.Contains(t, out, "PASS: all ", out)
			assert.Equal(t, 0, code, out)
		})
	}
}

// TestStarters checks every starter as given: each must fail, with a hint
// that names a TODO, so that a starter is never already a solution.
func TestStarters(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireGo(t) // the checker runs go test
	t.Parallel()
	for _, ex := range exercises {
		t.Run(ex.dir, func(t *testing.T) {
			t.Parallel()
			out, code := runChecker(t, "-v", strconv.Itoa(ex.num))
			assert.Contains(t, out, "\nok   the program builds\n", out)
			assert.Regexp(t, `\nFAIL [^\n]*\(TODO[ (]\d`, out, "no failure names a TODO:\n%s", out)
			assert.NotContains(t, out, "PASS", out)
			assert.Equal(t, 1, code, out)
		})
	}
}

// checkerDir holds the checker command, built once.
var (
	checkerDir   string
	buildChecker = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "podkit-checker-")
		if err != nil {
			return "", err
		}
		checkerDir = dir
		bin := filepath.Join(dir, "check")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%w: %s", err, out)
		}
		return bin, nil
	})
)

// runChecker runs the checker command from the module's root with args,
// and returns its output and exit code. With -v the output holds the
// program's, each line after "   | ", for the log of a failed test.
func runChecker(t *testing.T, args ...string) (string, int) {
	bin, err := buildChecker()
	require.NoError(t, err)
	running <- struct{}{}
	defer func() { <-running }()
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(exercisesDir())
	out, err := cmd.CombinedOutput()
	t.Log("\n" + string(out))
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return string(out), code
}

// TestLayout checks that every exercise has its statements, starter and
// solution, and that the READMEs name the check command.
func TestLayout(t *testing.T) {
	dir := exercisesDir()
	for _, name := range []string{"README.md", "README.zh-CN.md"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Contains(t, string(data), "go run ./exercises/check", name)
		for _, ex := range exercises {
			assert.Contains(t, string(data), ex.dir+"/", "%s does not link exercise %d", name, ex.num)
		}
	}
	for _, ex := range exercises {
		for _, f := range []string{"README.md", "README.zh-CN.md", "starter/main.go", "solution/main.go"} {
			assert.FileExists(t, filepath.Join(dir, ex.dir, f))
		}
		starter, err := os.ReadFile(filepath.Join(dir, ex.dir, "starter", "main.go"))
		require.NoError(t, err)
		assert.Contains(t, string(starter), "// TODO(1)", "%s's starter has no TODO(1)", ex.dir)
		zh, err := os.ReadFile(filepath.Join(dir, ex.dir, "README.zh-CN.md"))
		require.NoError(t, err)
		assert.Contains(t, string(zh), fmt.Sprintf("go run ./exercises/check %d", ex.num), ex.dir)
	}
}

func TestParseEvent(t *testing.T) {
	ev, ok := parseEvent(`event +1.234s Started app role=main pid=4242 msg="Started container app (pid 4242)"`, 7)
	require.True(t, ok)
	assert.Equal(t, event{line: 7, at: 1.234, reason: "Started", container: "app", fields: map[string]string{
		"role": "main", "pid": "4242", "msg": "Started container app (pid 4242)"}}, ev)
	ev, ok = parseEvent(`event +0.500s Ready - ready=true msg="Pod \"x\" is ready"`, 0)
	require.True(t, ok)
	assert.Equal(t, "-", ev.container)
	assert.Equal(t, `Pod "x" is ready`, ev.fields["msg"])
	_, ok = parseEvent("app | event +1s", 0)
	assert.False(t, ok)
}

func TestSelectExercises(t *testing.T) {
	for _, arg := range []string{"3", "03", "03-init-container", "exercises/03-init-container/"} {
		got, err := selectExercises(arg)
		require.NoError(t, err, arg)
		require.Len(t, got, 1)
		assert.Equal(t, 3, got[0].num, arg)
	}
	all, err := selectExercises("all")
	require.NoError(t, err)
	assert.Len(t, all, len(exercises))
	_, err = selectExercises("9")
	assert.ErrorContains(t, err, "give a number from 1 to 8")
}
