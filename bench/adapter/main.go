// Command adapter benchmarks podkit's adapters (see BENCHMARKS.md,
// "Adapters"):
//
//   - the log adapter's throughput, as the process form "podkit adapter
//     logs --config JSON" reading a generated file on standard input, for
//     passthrough (format text), json, logfmt and regex, against cat (the
//     floor; again with the 1 MiB output pipe the process form gives
//     itself) and jq -c doing the json normalisation;
//   - the StatsD source's ingest rate: the highest rate of UDP packets it
//     takes without loss;
//   - the scrape latency of a metrics adapter holding 10,000 StatsD series,
//     text and OpenMetrics, against client_golang serving 10,000 gauges
//     with promhttp (the floor).
//
// Usage, from the module's root:
//
//	go run ./bench/adapter [-size 1GiB] [-reps 3] [-short]
//
// It prints a Markdown table. The inputs are written to a temporary
// directory, removed at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	var o options
	size := flag.String("size", "1GiB", "total size of the generated log inputs (three files), such as 1GiB, 300MB, 3MB")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each log variant, interleaved; the median is reported")
	flag.BoolVar(&o.short, "short", false, "tiny sizes and few repetitions, to check that the benchmark works")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "adapter:", err)
		os.Exit(2)
	}
	o.size = n
	if o.short {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["size"] {
			o.size = 3 << 20
		}
		if !set["reps"] {
			o.reps = 1
		}
	}
	if err := run(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "adapter:", err)
		os.Exit(1)
	}
}

// options are the benchmark's parameters.
type options struct {
	size  int64 // total bytes of log input
	reps  int
	short bool
	// podkit is a built podkit binary; empty means build one.
	podkit string
}

// run runs the benchmarks and writes the table to out, progress to logw.
func run(ctx context.Context, o options, out, logw io.Writer) error {
	if o.reps < 1 {
		o.reps = 1
	}
	logRows, logNote, err := benchLogs(ctx, o, logw)
	if err != nil {
		return err
	}
	sd, err := benchStatsD(ctx, o, logw)
	if err != nil {
		return err
	}
	sc, err := benchScrape(ctx, o, logw)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, logNote)
	fmt.Fprintln(out)
	printLogTable(out, logRows)
	fmt.Fprintln(out)
	printStatsD(out, sd)
	fmt.Fprintln(out)
	printScrape(out, sc)
	return nil
}

// parseSize parses 1GiB, 1GB, 300MB, 3MiB, 512KB or a number of bytes
// (the units are powers of 1024 either way).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"GB", 1 << 30}, {"G", 1 << 30}, {"MIB", 1 << 20}, {"MB", 1 << 20}, {"M", 1 << 20}, {"KIB", 1 << 10}, {"KB", 1 << 10}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad -size %q", s)
	}
	return int64(f * float64(mult)), nil
}
