// Command check checks a learner's work on one of the exercises: it builds
// the exercise's program, runs it for a few seconds, watches its output and
// the system (the /proc entries of the processes it starts, the addresses
// it serves), and prints one line per check:
//
//	ok   the child has its own UTS namespace (uts:[4026532712]; the host's is uts:[4026531838])
//	FAIL the child shares the host's PID namespace: add syscall.CLONE_NEWPID to Cloneflags (TODO 2)
//
// It exits 0 when every check passed, 1 when one failed, 2 on a usage error.
// It needs root, as the exercises do:
//
//	sudo go run ./exercises/check 3              # exercises/03-init-container/starter
//	sudo go run ./exercises/check -v 3           # the same, showing the program's output
//	sudo go run ./exercises/check -solution 3    # the reference solution
//	sudo go run ./exercises/check -dir exercises/03-init-container/mine 3
//	sudo go run ./exercises/check -solution all  # every reference solution
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	solution := flag.Bool("solution", false, "check the reference solution instead of the starter")
	dir := flag.String("dir", "", "check the program in this directory instead of the starter")
	verbose := flag.Bool("v", false, "show the program's output as it runs")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./exercises/check [-v] [-solution | -dir DIR] NUMBER|all\n\nExercises:\n")
		for _, ex := range exercises {
			fmt.Fprintf(flag.CommandLine.Output(), "  %d  %s\n", ex.num, ex.title)
		}
		fmt.Fprintln(flag.CommandLine.Output())
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || (*solution && *dir != "") {
		flag.Usage()
		os.Exit(2)
	}
	todo, err := selectExercises(flag.Arg(0))
	if err == nil && *dir != "" && len(todo) != 1 {
		err = errors.New("-dir needs one exercise number, not all")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Println("FAIL the checker needs root, as the exercises do (namespaces and cgroups):")
		fmt.Println("     sudo env \"PATH=$PATH\" go run ./exercises/check " + strings.Join(os.Args[1:], " "))
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := 0
	for i, ex := range todo {
		if i > 0 {
			fmt.Println()
		}
		d := *dir
		if d == "" {
			d = ex.path(*solution)
		}
		if !check(ctx, ex, d, os.Stdout, *verbose) {
			failed++
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// selectExercises returns the exercises arg names: a number ("3", "03"),
// a directory name ("03-init-container"), or "all".
func selectExercises(arg string) ([]*exercise, error) {
	if arg == "all" {
		return exercises, nil
	}
	num, err := strconv.Atoi(strings.SplitN(filepath.Base(arg), "-", 2)[0])
	if err == nil {
		for _, ex := range exercises {
			if ex.num == num {
				return []*exercise{ex}, nil
			}
		}
	}
	return nil, fmt.Errorf("no exercise %q: give a number from 1 to %d, or all", arg, len(exercises))
}

// exercisesDir is the directory holding the exercises: this file's parent's
// parent, or ./exercises when the sources are not where they were built.
func exercisesDir() string {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		dir := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(dir, "check")); err == nil {
			return dir
		}
	}
	return "exercises"
}

// check checks the program in dir against ex, writing its report to w, and
// reports whether every check passed.
func check(ctx context.Context, ex *exercise, dir string, w io.Writer, verbose bool) bool {
	r := &report{w: w}
	fmt.Fprintf(w, "exercise %d, %s: checking %s\n", ex.num, ex.title, displayPath(dir))
	s, err := start(ctx, ex, dir, r, w, verbose)
	if err != nil {
		r.fail("%v", err)
	} else {
		ex.check(s)
		s.stop()
	}
	switch {
	case r.failed > 0 && !verbose:
		fmt.Fprintf(w, "%d of %d checks failed; run the checker with -v to see the program's output\n", r.failed, r.checks)
	case r.failed > 0:
		fmt.Fprintf(w, "%d of %d checks failed\n", r.failed, r.checks)
	default:
		fmt.Fprintf(w, "PASS: all %d checks of exercise %d passed\n", r.checks, ex.num)
	}
	return r.failed == 0
}

// displayPath shortens dir to a path relative to the working directory
// when it is below it.
func displayPath(dir string) string {
	wd, err := os.Getwd()
	if err != nil {
		return dir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}

// report counts and prints the checks' results.
type report struct {
	w              io.Writer
	checks, failed int
}

// ok reports a passed check.
func (r *report) ok(format string, args ...any) {
	r.checks++
	fmt.Fprintf(r.w, "ok   %s\n", fmt.Sprintf(format, args...))
}

// fail reports a failed check; the message ends with a hint.
func (r *report) fail(format string, args ...any) {
	r.checks++
	r.failed++
	fmt.Fprintf(r.w, "FAIL %s\n", fmt.Sprintf(format, args...))
}
