package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// jqProgram is jq's version of the adapter's json normalisation of a zap
// line: "time" from zap's float "ts" (to the second only: jq 1.6's todate
// has no fraction, which spares jq work), "level" in lower case, "msg",
// then the other fields in their order.
const jqProgram = `{time: (.ts|todate), level: (.level|ascii_downcase), msg: .msg} + del(.ts,.level,.msg)`

// logRegex is the regex variant's expression, matching the regex input.
const logRegex = `^(?P<time>\S+) \[(?P<level>\w+)\] (?P<caller>\S+) (?P<msg>.*)$`

// logVariant is one process reading an input on its standard input.
type logVariant struct {
	name  string
	input string // json, logfmt or regex
	argv  []string
	// pipe, when set, is the size given to the pipe of its standard
	// output (F_SETPIPE_SZ); otherwise the kernel's default, 64 KiB.
	pipe int
}

// logsBigPipe is the pipe podkit's process form gives itself: cat's
// second row has it too, for a floor measured in the same conditions.
const logsBigPipe = 1 << 20

// logRow is a variant's result.
type logRow struct {
	logVariant
	bytes, lines int64 // of the input
	outLines     int64
	elapsed      time.Duration // median
	all          []time.Duration
}

func (r logRow) mbps() float64 { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }
func (r logRow) lps() float64  { return float64(r.lines) / r.elapsed.Seconds() }

// benchLogs generates the inputs, runs the variants interleaved o.reps
// times, and returns their rows and a line describing the inputs.
func benchLogs(ctx context.Context, o options, logw io.Writer) ([]logRow, string, error) {
	dir, err := os.MkdirTemp("", "podkit-bench-adapter-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	bin := o.podkit
	if bin == "" {
		bin = filepath.Join(dir, "podkit")
		fmt.Fprintln(logw, "building podkit...")
		if err := buildPodkit(ctx, bin); err != nil {
			return nil, "", err
		}
	}
	type input struct{ bytes, lines int64 }
	inputs := map[string]input{}
	per := o.size / 3
	for _, name := range []string{"json", "logfmt", "regex"} {
		fmt.Fprintf(logw, "generating %s input (%d MB)...\n", name, per>>20)
		b, l, err := generate(filepath.Join(dir, name+".log"), name, per)
		if err != nil {
			return nil, "", err
		}
		inputs[name] = input{b, l}
	}
	cfg := func(format string, extra string) string {
		return `{"stdin":true,"format":"` + format + `"` + extra + `}`
	}
	variants := []logVariant{
		{"cat (floor)", "json", []string{"cat"}, 0},
		{"cat, 1 MiB pipe", "json", []string{"cat"}, logsBigPipe},
		{"podkit passthrough (text)", "json", []string{bin, "adapter", "logs", "--config", cfg("text", "")}, 0},
		{"podkit json", "json", []string{bin, "adapter", "logs", "--config", cfg("json", "")}, 0},
		{"jq -c (json normalisation)", "json", []string{"jq", "-c", jqProgram}, 0},
		{"podkit logfmt", "logfmt", []string{bin, "adapter", "logs", "--config", cfg("logfmt", "")}, 0},
		{"podkit regex", "regex", []string{bin, "adapter", "logs", "--config", cfg("regex", `,"regex":`+strconv.Quote(logRegex))}, 0},
	}
	if _, err := exec.LookPath("jq"); err != nil {
		fmt.Fprintln(logw, "jq not found: its row is left out (apt-get install jq)")
		variants = slices.DeleteFunc(variants, func(v logVariant) bool { return v.argv[0] == "jq" })
	}
	rows := make([]logRow, len(variants))
	for i, v := range variants {
		rows[i] = logRow{logVariant: v, bytes: inputs[v.input].bytes, lines: inputs[v.input].lines}
	}
	for rep := range o.reps {
		for i := range rows {
			r := &rows[i]
			d, out, err := runLogVariant(ctx, r.logVariant, filepath.Join(dir, r.input+".log"))
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", r.name, err)
			}
			if out != r.lines {
				return nil, "", fmt.Errorf("%s: %d lines out of %d in", r.name, out, r.lines)
			}
			r.outLines = out
			r.all = append(r.all, d)
			fmt.Fprintf(logw, "rep %d %-28s %8.3fs %8.1f MB/s\n", rep+1, r.name, d.Seconds(), float64(r.bytes)/1e6/d.Seconds())
		}
	}
	for i := range rows {
		rows[i].elapsed = median(rows[i].all)
	}
	note := fmt.Sprintf("Log inputs: three generated files of %.1f MB each (%.2f GiB in all; json %d lines, logfmt %d, regex %d), in the page cache; median of %d interleaved runs.",
		float64(per)/1e6, float64(3*per)/(1<<30), inputs["json"].lines, inputs["logfmt"].lines, inputs["regex"].lines, o.reps)
	return rows, note, nil
}

// buildPodkit builds cmd/podkit of the module this program is in.
func buildPodkit(ctx context.Context, bin string) error {
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("go list -m: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/podkit")
	cmd.Dir = strings.TrimSpace(string(root))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/podkit: %w", err)
	}
	return nil
}

// runLogVariant runs v with the file on its standard input and counts the
// lines of its standard output (through a pipe, the same for all but for
// v.pipe).
func runLogVariant(ctx context.Context, v logVariant, file string) (time.Duration, int64, error) {
	argv := v.argv
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = f
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if v.pipe > 0 {
		if err := setPipeSize(stdout, v.pipe); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	var lines int64
	buf := make([]byte, 256<<10)
	for {
		n, err := stdout.Read(buf)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err != nil {
			break
		}
	}
	err = cmd.Wait()
	return time.Since(start), lines, err
}

// setPipeSize sets the size of the pipe r reads.
func setPipeSize(r io.Reader, size int) error {
	f, ok := r.(*os.File)
	if !ok {
		return fmt.Errorf("pipe: %T is not a file", r)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { _, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("pipe: F_SETPIPE_SZ %d: %w", size, serr)
	}
	return nil
}

// generate writes about size bytes of lines of the kind to path, and
// returns the bytes and lines written.
func generate(path, kind string, size int64) (int64, int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	levels := []string{"info", "info", "info", "debug", "warn", "error"}
	methods := []string{"GET", "GET", "POST", "PUT", "DELETE"}
	paths := []string{"/api/v1/users", "/api/v1/orders/12345", "/healthz", "/api/v1/search?q=podkit", "/static/app.js"}
	var n, lines int64
	var line []byte
	ts := 1732554123.0
	for n < size {
		i := int(lines)
		ts += 0.000731
		lvl, m, p := levels[i%len(levels)], methods[i%len(methods)], paths[i%len(paths)]
		status, lat := 200+(i%7)*50, float64(i%1000)/1e5
		line = line[:0]
		switch kind {
		case "json": // as zap's production encoder writes them
			line = fmt.Appendf(line, `{"level":"%s","ts":%.6f,"caller":"server/handler.go:%d","msg":"request served","method":"%s","path":"%s","status":%d,"latency":%g,"request_id":"%08x"}`,
				lvl, ts, 40+i%60, m, p, status, lat, uint32(i)*2654435761)
		case "logfmt":
			t := time.Unix(0, int64(ts*1e9)).UTC().Format("2006-01-02T15:04:05.000Z07:00")
			line = fmt.Appendf(line, `ts=%s level=%s caller=server/handler.go:%d msg="request served" method=%s path=%s status=%d latency=%g request_id=%08x`,
				t, lvl, 40+i%60, m, p, status, lat, uint32(i)*2654435761)
		case "regex":
			t := time.Unix(0, int64(ts*1e9)).UTC().Format("2006-01-02T15:04:05.000Z07:00")
			line = fmt.Appendf(line, `%s [%s] server/handler.go:%d request served method=%s path=%s status=%d latency=%g request_id=%08x`,
				t, strings.ToUpper(lvl), 40+i%60, m, p, status, lat, uint32(i)*2654435761)
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return 0, 0, err
		}
		n += int64(len(line))
		lines++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, 0, err
	}
	return n, lines, f.Close()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func printLogTable(w io.Writer, rows []logRow) {
	var cat, catBig, jq float64
	for _, r := range rows {
		switch r.argv[0] {
		case "cat":
			if r.pipe == 0 {
				cat = r.mbps()
			} else {
				catBig = r.mbps()
			}
		case "jq":
			jq = r.mbps()
		}
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3gx", a/b)
	}
	fmt.Fprintln(w, "| Log variant | Input | Lines/s | MB/s | vs cat (MB/s) | vs cat, 1 MiB pipe | vs jq (MB/s) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %.1f | %s | %s | %s |\n", r.name, r.input, human(r.lps()), r.mbps(),
			ratio(r.mbps(), cat), ratio(r.mbps(), catBig), ratio(r.mbps(), jq))
	}
}

// human writes a rate with k or M.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
