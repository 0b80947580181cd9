// Command images benchmarks podkit's image store and pods that run from
// images against podman, in one run (see BENCHMARKS.md, "Images"):
//
//   - loading an image: "podman load" against "podkit image load -q -i"
//     (the built command) and image.Store.Load (in-process), for a
//     docker-archive (uncompressed layers, as docker save writes) and an
//     OCI archive (gzip-compressed layers), each into a new store;
//   - a pod of one container from the loaded image against the same pod
//     running the host's program (its private view of the host's
//     filesystem) and "podman run --rm --network none" of the same
//     command; the first pod, which unpacks the image's layers, is timed
//     apart, and the layer directories are checked to be left alone by
//     later pods;
//   - memory: the largest resident set of each load command, and the
//     supervising (this) process's after the pods;
//   - disk: the store's blobs and unpacked layers, before and after a
//     second image sharing the first one's layer, and podman's storage.
//
// The image is a root filesystem tarball (-rootfs), Debian with
// redis-server built by mmdebstrap (-debian, kept in
// ~/.cache/podkit-test), or by default a tiny one holding the host's
// static busybox. Variants are interleaved, their order rotating every
// round; each timing is reported as the median and the range.
//
// Usage, from the module's root, as root:
//
//	go run ./bench/images -debian [-rounds 7] [-pods 5] [-podkit BIN] [-podman=false]
//
// It prints Markdown tables. Everything it makes (archives, stores,
// podman's storage) lives in a temporary directory, removed at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o options
	flag.StringVar(&o.rootfs, "rootfs", "", "a root filesystem tarball to make the image from (default: a tiny one with busybox)")
	flag.BoolVar(&o.debian, "debian", false, "make the image from Debian bookworm minbase with redis-server (mmdebstrap, cached in ~/.cache/podkit-test)")
	flag.IntVar(&o.rounds, "rounds", 7, "rounds of interleaved runs of every variant")
	flag.IntVar(&o.pods, "pods", 5, "pods of each pod variant per round")
	flag.StringVar(&o.podkit, "podkit", "", "a built podkit command (default: build cmd/podkit)")
	flag.BoolVar(&o.podman, "podman", true, "run podman's variants")
	flag.StringVar(&o.tmp, "tmp", "", "directory for the temporary files (default: $TMPDIR)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

// options are the benchmark's parameters.
type options struct {
	rootfs string
	debian bool
	rounds int
	pods   int
	podkit string
	podman bool
	tmp    string
}

// run runs the benchmark and writes the tables to out, progress to logw.
func run(ctx context.Context, o options, out, logw io.Writer) error {
	o.rounds, o.pods = max(o.rounds, 1), max(o.pods, 1)
	b, err := newBench(ctx, o, logw)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if err := b.loads(ctx); err != nil {
		return err
	}
	if err := b.podStarts(ctx); err != nil {
		return err
	}
	if err := b.sharedLayers(ctx); err != nil {
		return err
	}
	b.report(out)
	return nil
}
