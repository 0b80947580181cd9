package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
	"github.com/podkit/podkit/pod"
)

const (
	ref       = "example.com/bench/app:1"
	ref2      = "example.com/bench/app-extra:1"
	pathEnv   = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	podmanRef = "example.com/bench/app:1"
)

// Variant names, as the tables show them.
const (
	vPodman    = "podman load"
	vPodkitCmd = "podkit image load -q (command)"
	vPodkitAPI = "image.Store.Load (in-process)"
	vPodImage  = "podkit pod from the image"
	vPodHost   = "podkit pod running the host's program"
	vPodmanRun = "podman run --rm"
)

// bench holds what the benchmark made and measured.
type bench struct {
	o    options
	logw io.Writer
	work string // removed by close

	// Set by prepare.
	rootfs         string
	rootfsBytes    int64
	docker, oci    string // archives of the image
	docker2        string // an image sharing the first one's layer, plus a small one
	imageCmd       []string
	hostCmd        []string
	want           string // in every run's output
	podkit         string
	pm             *podman // nil without podman
	layers         int
	extraLayerSize int64

	// Measured.
	load      map[string]map[string][]time.Duration // form → variant → samples
	loadRSS   map[string]map[string]int64           // form → variant → largest max RSS, KiB
	loadDisk  map[string]map[string]int64           // form → variant → bytes on disk after one load
	pods      map[string][]time.Duration
	firstPod  time.Duration
	unpack    unpackCheck
	selfRSS   [2]int64 // VmRSS, VmHWM in KiB after the pods
	heapInuse uint64
	disk      diskReport
}

type unpackCheck struct {
	before, afterFirst, afterAll int
	unchanged                    bool
	laterPods                    int
}

type diskReport struct {
	blobs1, layers1, blobs2, layers2 int64
	lookup2                          time.Duration
	podman                           int64
}

func newBench(ctx context.Context, o options, logw io.Writer) (*bench, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: pods and podman's storage")
	}
	work, err := os.MkdirTemp(o.tmp, "podkit-bench-images-")
	if err != nil {
		return nil, err
	}
	return &bench{o: o, logw: logw, work: work,
		load: map[string]map[string][]time.Duration{}, loadRSS: map[string]map[string]int64{},
		loadDisk: map[string]map[string]int64{}, pods: map[string][]time.Duration{}}, nil
}

// close removes everything the benchmark made, unmounting first what
// podman left mounted there.
func (b *bench) close() {
	if b.pm != nil {
		b.pm.close()
	}
	unmountUnder(b.work)
	if err := os.RemoveAll(b.work); err != nil {
		fmt.Fprintln(b.logw, "images: cleanup:", err)
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.logw, format+"\n", args...)
}

// prepare makes the root filesystem and the archives, and builds podkit.
func (b *bench) prepare(ctx context.Context) error {
	switch {
	case b.o.rootfs != "":
		b.rootfs = b.o.rootfs
	case b.o.debian:
		b.logf("building (or taking from the cache) the Debian root filesystem")
		p, err := imagetest.DebianRedis(ctx)
		if err != nil {
			return err
		}
		b.rootfs = p
	default:
		busybox, err := exec.LookPath("busybox")
		if err != nil {
			return fmt.Errorf("the tiny image needs the host's static busybox: %w", err)
		}
		b.rootfs = filepath.Join(b.work, "rootfs.tar")
		if err := tinyRootfs(b.rootfs, busybox); err != nil {
			return err
		}
	}
	if b.o.debian || b.o.rootfs != "" {
		b.imageCmd = []string{"redis-server", "--version"}
		b.hostCmd = []string{"/usr/bin/redis-server", "--version"}
		b.want = "Redis server v="
	} else {
		b.imageCmd = []string{"/bin/busybox", "echo", "bench ok"}
		busybox, _ := exec.LookPath("busybox")
		b.hostCmd = []string{busybox, "echo", "bench ok"}
		b.want = "bench ok"
	}
	b.logf("making the archives from %s", b.rootfs)
	base, err := rawLayer(b.rootfs)
	if err != nil {
		return err
	}
	b.rootfsBytes = base.size
	gz, err := gzipLayer(base, filepath.Join(b.work, "layer.tar.gz"))
	if err != nil {
		return err
	}
	cfg := v1.Config{Cmd: []string{b.imageCmd[0]}, Env: []string{pathEnv}}
	img, err := ociImage(cfg, base)
	if err != nil {
		return err
	}
	gzImg, err := ociImage(cfg, gz)
	if err != nil {
		return err
	}
	b.docker, b.oci = filepath.Join(b.work, "docker.tar"), filepath.Join(b.work, "oci.tar")
	if err := writeDockerArchive(b.docker, ref, img); err != nil {
		return fmt.Errorf("docker-archive: %w", err)
	}
	if err := writeOCIArchive(b.oci, ref, gzImg); err != nil {
		return fmt.Errorf("OCI archive: %w", err)
	}
	b.layers = 1
	extraTar := filepath.Join(b.work, "extra.tar")
	if err := writeTar(extraTar, tarEntry{name: "etc/", mode: 0o755, dir: true},
		tarEntry{name: "etc/bench-extra", mode: 0o644, content: bytes.Repeat([]byte("extra\n"), 1000)}); err != nil {
		return err
	}
	extra, err := rawLayer(extraTar)
	if err != nil {
		return err
	}
	b.extraLayerSize = extra.size
	img2, err := ociImage(cfg, base, extra)
	if err != nil {
		return err
	}
	b.docker2 = filepath.Join(b.work, "docker2.tar")
	if err := writeDockerArchive(b.docker2, ref2, img2); err != nil {
		return fmt.Errorf("docker-archive: %w", err)
	}
	b.podkit = b.o.podkit
	if b.podkit == "" {
		b.podkit = filepath.Join(b.work, "podkit")
		b.logf("building cmd/podkit")
		if err := buildPodkit(ctx, b.podkit); err != nil {
			return err
		}
	}
	if b.o.podman {
		pm, err := newPodman(filepath.Join(b.work, "podman"))
		if err != nil {
			return err
		}
		b.pm = pm
	}
	return nil
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

// loadVariant loads an archive into a new store in dir and returns the
// time it took and the largest resident set of the process that loaded
// it (0 in-process).
type loadVariant struct {
	name string
	run  func(ctx context.Context, archive, dir string) (time.Duration, int64, error)
}

// loads times every load variant on both archives, o.rounds times,
// interleaved, each into a new store.
func (b *bench) loads(ctx context.Context) error {
	variants := []loadVariant{
		{vPodkitCmd, func(ctx context.Context, archive, dir string) (time.Duration, int64, error) {
			cmd := exec.CommandContext(ctx, b.podkit, "image", "load", "-q", "-i", archive)
			cmd.Env = append(os.Environ(), "PODKIT_IMAGES_DIR="+dir)
			return timeCmd(cmd)
		}},
		{vPodkitAPI, func(ctx context.Context, archive, dir string) (time.Duration, int64, error) {
			t0 := time.Now()
			s, err := image.Open(dir)
			if err != nil {
				return 0, 0, err
			}
			if _, err := s.Load(ctx, archive); err != nil {
				return 0, 0, err
			}
			return time.Since(t0), 0, nil
		}},
	}
	if b.pm != nil {
		variants = append(variants, loadVariant{vPodman, func(ctx context.Context, archive, dir string) (time.Duration, int64, error) {
			return timeCmd(b.pm.at(dir).cmd(ctx, "load", "-q", "-i", archive))
		}})
	}
	forms := []struct{ name, path string }{{"docker-archive", b.docker}, {"OCI archive", b.oci}}
	for _, f := range forms {
		b.load[f.name], b.loadRSS[f.name], b.loadDisk[f.name] = map[string][]time.Duration{}, map[string]int64{}, map[string]int64{}
	}
	n := 0
	for round := range b.o.rounds {
		for i := range len(forms) * len(variants) {
			k := (i + round) % (len(forms) * len(variants))
			f, v := forms[k/len(variants)], variants[k%len(variants)]
			n++
			dir := filepath.Join(b.work, fmt.Sprintf("load-%d", n))
			d, rss, err := v.run(ctx, f.path, dir)
			if err != nil {
				return fmt.Errorf("%s of the %s: %w", v.name, f.name, err)
			}
			b.load[f.name][v.name] = append(b.load[f.name][v.name], d)
			b.loadRSS[f.name][v.name] = max(b.loadRSS[f.name][v.name], rss)
			if round == 0 {
				b.loadDisk[f.name][v.name] = diskUsage(dir)
			}
			b.logf("round %d: %s, %s: %v", round+1, f.name, v.name, d.Round(time.Millisecond))
			// The next variant's timing gets neither this one's
			// write-back nor its removal.
			unix.Sync()
			unmountUnder(dir)
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			unix.Sync()
		}
	}
	return nil
}

// timeCmd runs cmd and returns how long it took and its largest resident
// set in KiB.
func timeCmd(cmd *exec.Cmd) (time.Duration, int64, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, out.Bytes())
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return d, rss, nil
}

// podStarts times pods running the image's command from a store holding
// the image (loaded, not yet unpacked: the first pod unpacks it), pods
// running the host's program, and podman run --rm.
func (b *bench) podStarts(ctx context.Context) error {
	store, err := image.Open(filepath.Join(b.work, "store"))
	if err != nil {
		return err
	}
	if _, err := store.Load(ctx, b.docker); err != nil {
		return err
	}
	layersDir := filepath.Join(store.Dir(), "layers", "sha256")
	before := layerSnapshot(layersDir)
	b.unpack.before = len(before)
	name := fmt.Sprintf("bench-images-%d", os.Getpid())
	imagePod := func(ctx context.Context) (time.Duration, error) {
		return b.runPod(ctx, name, pod.Container{Name: "app", Image: ref, ImagePullPolicy: pod.PullNever, Command: b.imageCmd}, pod.WithImages(store))
	}
	hostPod := func(ctx context.Context) (time.Duration, error) {
		return b.runPod(ctx, name, pod.Container{Name: "app", Command: b.hostCmd})
	}
	if b.firstPod, err = imagePod(ctx); err != nil {
		return fmt.Errorf("first pod: %w", err)
	}
	afterFirst := layerSnapshot(layersDir)
	b.unpack.afterFirst = len(afterFirst)
	variants := []struct {
		name string
		run  func(context.Context) (time.Duration, error)
	}{{vPodImage, imagePod}, {vPodHost, hostPod}}
	if b.pm != nil {
		pm := b.pm.at(filepath.Join(b.work, "podman-run"))
		if _, _, err := timeCmd(pm.cmd(ctx, "load", "-q", "-i", b.docker)); err != nil {
			return err
		}
		b.disk.podman = diskUsage(pm.root)
		variants = append(variants, struct {
			name string
			run  func(context.Context) (time.Duration, error)
		}{vPodmanRun, func(ctx context.Context) (time.Duration, error) {
			args := append([]string{"run", "--rm", "--network", "none", podmanRef}, b.imageCmd...)
			cmd := pm.cmd(ctx, args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			t0 := time.Now()
			err := cmd.Run()
			d := time.Since(t0)
			if err != nil {
				return 0, fmt.Errorf("podman run: %w: %s", err, out.Bytes())
			}
			if !strings.Contains(out.String(), b.want) {
				return 0, fmt.Errorf("podman run: output %q lacks %q", out.String(), b.want)
			}
			return d, nil
		}})
	}
	// One untimed run of each warms the caches (the programs' pages,
	// podman's storage).
	for _, v := range variants {
		if _, err := v.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	for round := range b.o.rounds {
		for i := range variants {
			v := variants[(i+round)%len(variants)]
			for range b.o.pods {
				d, err := v.run(ctx)
				if err != nil {
					return fmt.Errorf("%s: %w", v.name, err)
				}
				b.pods[v.name] = append(b.pods[v.name], d)
			}
			b.logf("round %d: %s: median %v", round+1, v.name, median(b.pods[v.name][len(b.pods[v.name])-b.o.pods:]).Round(10*time.Microsecond))
		}
	}
	afterAll := layerSnapshot(layersDir)
	b.unpack.afterAll = len(afterAll)
	b.unpack.unchanged = maps.Equal(afterFirst, afterAll)
	b.unpack.laterPods = len(b.pods[vPodImage]) + 1 // and the warm-up
	b.selfRSS = procStatus("VmRSS", "VmHWM")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.heapInuse = ms.HeapInuse
	return nil
}

// runPod runs a pod of the container c, which must write b.want, and
// returns the time from New until Wait returned.
func (b *bench) runPod(ctx context.Context, name string, c pod.Container, opts ...pod.Option) (time.Duration, error) {
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	t0 := time.Now()
	p, err := pod.New(name, pod.Spec{RestartPolicy: pod.RestartNever, Containers: []pod.Container{c}}, opts...)
	if err != nil {
		return 0, err
	}
	err = p.Run(ctx)
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("pod: %w: %s", err, out.Bytes())
	}
	if !strings.Contains(out.String(), b.want) {
		return 0, fmt.Errorf("pod: output %q lacks %q", out.String(), b.want)
	}
	return d, nil
}

// sharedLayers measures the store's disk use with the first image
// unpacked, then after a second image made of the first one's layer and a
// small one is loaded and looked up.
func (b *bench) sharedLayers(ctx context.Context) error {
	store, err := image.Open(filepath.Join(b.work, "store"))
	if err != nil {
		return err
	}
	blobs, layers := filepath.Join(store.Dir(), "oci", "blobs"), filepath.Join(store.Dir(), "layers")
	b.disk.blobs1, b.disk.layers1 = diskUsage(blobs), diskUsage(layers)
	if _, err := store.Load(ctx, b.docker2); err != nil {
		return err
	}
	t0 := time.Now()
	img, err := store.Lookup(ctx, ref2)
	if err != nil {
		return err
	}
	b.disk.lookup2 = time.Since(t0)
	if img.Release != nil {
		img.Release()
	}
	b.disk.blobs2, b.disk.layers2 = diskUsage(blobs), diskUsage(layers)
	return nil
}

// layerSnapshot returns the modification time of each unpacked layer
// directory, by name.
func layerSnapshot(dir string) map[string]time.Time {
	snap := map[string]time.Time{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && e.IsDir() {
			snap[e.Name()] = info.ModTime()
		}
	}
	return snap
}

// diskUsage is du's count of the blocks under p, each inode once.
func diskUsage(p string) int64 {
	seen := map[[2]uint64]bool{}
	var n int64
	_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(path, &st) != nil {
			return nil
		}
		key := [2]uint64{st.Dev, st.Ino}
		if !seen[key] {
			seen[key] = true
			n += st.Blocks * 512
		}
		return nil
	})
	return n
}

// procStatus returns the named fields, in KiB, of /proc/self/status.
func procStatus(fields ...string) [2]int64 {
	var out [2]int64
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		for i, f := range fields {
			if v, ok := strings.CutPrefix(line, f+":"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%d", &out[i])
			}
		}
	}
	return out
}
