package console_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/podkit/podkit/pod/console"
	"github.com/podkit/podkit/pod/podtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Lines written from many goroutines arrive whole, each with its prefix.
func TestLinesStayWhole(t *testing.T) {
	var out podtest.Buffer
	c := console.New(&out, "a", "bb")
	var wg sync.WaitGroup
	for _, name := range []string{"a", "bb"} {
		w := c.Writer(name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				fmt.Fprintf(w, "%s line %d\n", name, i)
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.Len(t, lines, 400)
	for _, l := range lines {
		ok := strings.HasPrefix(l, "a  | a line ") || strings.HasPrefix(l, "bb | bb line ")
		assert.True(t, ok, "%q", l)
	}
}

// writes records each Write.
type writes [][]byte

func (w *writes) Write(b []byte) (int, error) {
	*w = append(*w, append([]byte(nil), b...))
	return len(b), nil
}

// A prefixed line reaches the console's writer in one Write, so that a
// writer the console does not know of (the events on the other standard
// stream of one terminal) cannot split it.
func TestLineIsOneWrite(t *testing.T) {
	var w writes
	n, err := console.New(&w, "app").Writer("app").Write([]byte("hello\n"))
	assert.NoError(t, err)
	assert.Equal(t, 6, n)
	assert.Equal(t, writes{[]byte("app | hello\n")}, w)
}

// Each container's lines carry its name; the program's own lines none.
func Example() {
	c := console.New(os.Stdout, "web", "db")
	fmt.Fprintln(c.Writer("web"), "listening on :8080")
	fmt.Fprintln(c.Writer("db"), "ready")
	c.Printf("pod finished: %s", "Succeeded")
	// Output:
	// web | listening on :8080
	// db  | ready
	// pod finished: Succeeded
}
