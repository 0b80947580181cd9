package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// median returns the median of ds (the mean of the middle two for an
// even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is "median (min – max)" of ds in unit.
func spread(ds []time.Duration, unit time.Duration, prec int) string {
	if len(ds) == 0 {
		return "—"
	}
	f := func(d time.Duration) string { return fmt.Sprintf("%.*f", prec, float64(d)/float64(unit)) }
	return fmt.Sprintf("%s (%s – %s)", f(median(ds)), f(slices.Min(ds)), f(slices.Max(ds)))
}

func ratio(a, b []time.Duration) string {
	if len(a) == 0 || len(b) == 0 || median(b) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", float64(median(a))/float64(median(b)))
}

// mb writes n bytes in MB, or kB below 1 MB.
func mb(n int64) string {
	if n < 1e6 && n > -1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// report writes the tables and the targets.
func (b *bench) report(out io.Writer) {
	fmt.Fprintf(out, "Image: one layer of %s uncompressed (the root filesystem tarball); %d rounds, order rotating; %d pods of each pod variant a round.\n\n",
		mb(b.rootfsBytes), b.o.rounds, b.o.pods)
	fmt.Fprintln(out, "| Load | docker-archive (s) | × podman | OCI archive, gzip (s) | × podman | max RSS docker / OCI | disk after a load, docker / OCI |")
	fmt.Fprintln(out, "|---|---|---:|---|---:|---|---|")
	for _, v := range []string{vPodman, vPodkitCmd, vPodkitAPI} {
		d, o := b.load["docker-archive"][v], b.load["OCI archive"][v]
		if len(d) == 0 {
			continue
		}
		rss := "— (in-process)"
		if r := b.loadRSS["docker-archive"][v]; r > 0 {
			rss = fmt.Sprintf("%d / %d MiB", r>>10, b.loadRSS["OCI archive"][v]>>10)
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s / %s |\n", v,
			spread(d, time.Second, 2), ratio(d, b.load["docker-archive"][vPodman]),
			spread(o, time.Second, 2), ratio(o, b.load["OCI archive"][vPodman]), rss,
			mb(b.loadDisk["docker-archive"][v]), mb(b.loadDisk["OCI archive"][v]))
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| Pod, New until Wait returns | ms | × host-program pod | × podman run |")
	fmt.Fprintln(out, "|---|---|---:|---:|")
	for _, v := range []string{vPodImage, vPodHost, vPodmanRun} {
		if len(b.pods[v]) == 0 {
			continue
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s |\n", v, spread(b.pods[v], time.Millisecond, 1), ratio(b.pods[v], b.pods[vPodHost]), ratio(b.pods[v], b.pods[vPodmanRun]))
	}
	fmt.Fprintf(out, "| first pod from the image (unpacks its layer) | %.1f | | |\n\n", float64(b.firstPod)/1e6)
	fmt.Fprintf(out, "Layer directories: %d before the first pod, %d after it, %d after %d more pods; names and mtimes unchanged since the first pod: %v.\n\n",
		b.unpack.before, b.unpack.afterFirst, b.unpack.afterAll, b.unpack.laterPods, b.unpack.unchanged)
	fmt.Fprintf(out, "Supervising process after the pods: VmRSS %d MiB, VmHWM %d MiB (the archives' making and in-process loads included), Go heap in use %d MiB.\n\n",
		b.selfRSS[0]>>10, b.selfRSS[1]>>10, b.heapInuse>>20)
	fmt.Fprintln(out, "| Store's disk use | blobs | unpacked layers |")
	fmt.Fprintln(out, "|---|---|---|")
	fmt.Fprintf(out, "| image 1 loaded and unpacked | %s | %s |\n", mb(b.disk.blobs1), mb(b.disk.layers1))
	fmt.Fprintf(out, "| + image 2: image 1's layer and one of %s | %s | %s |\n", mb(b.extraLayerSize), mb(b.disk.blobs2), mb(b.disk.layers2))
	if b.disk.podman > 0 {
		fmt.Fprintf(out, "\npodman's storage after loading image 1: %s. Lookup of image 2 (unpacks its second layer only): %.1f ms.\n", mb(b.disk.podman), float64(b.disk.lookup2)/1e6)
	}
	fmt.Fprintln(out, "\nTargets (by the medians):")
	if p := b.load["docker-archive"][vPodman]; len(p) > 0 {
		for _, form := range []string{"docker-archive", "OCI archive"} {
			for _, v := range []string{vPodkitCmd, vPodkitAPI} {
				r := float64(median(b.load[form][v])) / float64(median(b.load[form][vPodman]))
				fmt.Fprintf(out, "- %s, %s at most 0.5 × podman load: %s (%.2f)\n", form, v, met(r <= 0.5), r)
			}
		}
	}
	r := float64(median(b.pods[vPodImage])) / float64(median(b.pods[vPodHost]))
	fmt.Fprintf(out, "- pod from the image at most 1.3 × the host-program pod: %s (%.2f)\n", met(r <= 1.3), r)
	if p := b.pods[vPodmanRun]; len(p) > 0 {
		r := float64(median(p)) / float64(median(b.pods[vPodImage]))
		fmt.Fprintf(out, "- pod from the image at least 5 × faster than podman run --rm: %s (%.1f×)\n", met(r >= 5), r)
	}
	fmt.Fprintf(out, "- later pods unpack nothing: %s\n", met(b.unpack.unchanged && b.unpack.afterAll == b.unpack.afterFirst && b.unpack.afterFirst == b.layers))
	growth := b.disk.layers2 - b.disk.layers1
	fmt.Fprintf(out, "- a second image sharing the base layer adds only its own layer to the unpacked layers: %s (+%s)\n", met(growth < b.rootfsBytes/10), mb(growth))
}
