package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// writeReport prints the Markdown table of the medians: for each variant
// the median over rounds of each measure, and the median over rounds of its
// ratio to the direct connection measured in the same round.
func writeReport(w io.Writer, cfg config, samples map[string][]sample, l *load) error {
	direct := samples["direct"]
	var b strings.Builder
	fmt.Fprintf(&b, "%d rounds, interleaved; throughput: %d connections streaming for %v, measured at the receiver; "+
		"latency: %d 1-byte round trips on one connection after %d unrecorded; HAProxy nbthread %d. "+
		"Medians over rounds; × direct is the median of the per-round ratios. "+
		"Other processes used %.0f%% of the machine's %d CPUs during the tests (%.0f%% at most in one test).\n\n",
		cfg.Rounds, cfg.Conns, cfg.Duration, cfg.Iters, cfg.Warmup, cfg.HAProxyThreads,
		100*l.share(), machineCPUs, 100*l.max)
	b.WriteString("| | upload MB/s | × direct | download MB/s | × direct | RTT p50 µs | × direct | RTT p99 µs | × direct " +
		"| proxy CPU s/GB | proxy CPU µs/RTT |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range cfg.Variants {
		ss := samples[name]
		col := func(test string, value func(s sample) float64, format string) string {
			if !slices.Contains(cfg.Tests, test) {
				return "—"
			}
			return fmt.Sprintf(format, median(mapSamples(ss, value)))
		}
		ratio := func(test string, value func(s sample) float64) string {
			if !slices.Contains(cfg.Tests, test) {
				return "—"
			}
			if name == "direct" {
				return "1"
			}
			if direct == nil {
				return "—"
			}
			var rs []float64
			for i, s := range ss {
				if d := value(direct[i]); d > 0 {
					rs = append(rs, value(s)/d)
				}
			}
			if len(rs) == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", median(rs))
		}
		up := func(s sample) float64 { return s.up.mbps() }
		down := func(s sample) float64 { return s.down.mbps() }
		p50 := func(s sample) float64 { return micros(s.rtt.P50) }
		p99 := func(s sample) float64 { return micros(s.rtt.P99) }
		cpu, cpuRTT := "—", "—"
		if v := variants[name]; v.start != nil {
			if slices.Contains(cfg.Tests, testUpload) || slices.Contains(cfg.Tests, testDownload) {
				cpu = fmt.Sprintf("%.3f", median(mapSamples(ss, func(s sample) float64 { return s.cpuPerGB() })))
			}
			cpuRTT = col(testRTT, func(s sample) float64 { return s.cpuPerRTT() }, "%.1f")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", variants[name].describe,
			col(testUpload, up, "%.0f"), ratio(testUpload, up), col(testDownload, down, "%.0f"), ratio(testDownload, down),
			col(testRTT, p50, "%.1f"), ratio(testRTT, p50), col(testRTT, p99, "%.1f"), ratio(testRTT, p99), cpu, cpuRTT)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mapSamples(ss []sample, f func(sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// median of xs; xs is not changed.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
