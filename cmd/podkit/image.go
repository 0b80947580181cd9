package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/podkit/podkit/image"
)

// imageCommand is podkit image: the local image store.
func imageCommand(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Manage the local image store that pods run their containers from",
		Long: `Manage the local image store: an OCI image layout under --images-dir
($PODKIT_IMAGES_DIR, default ` + image.DefaultDir + `), which skopeo, umoci and crane
read as oci:DIR/oci:REF. Images get in by load, pull and import; a pod's containers
run from them.`,
	}
	c.AddCommand(imageLoadCommand(e), imagePullCommand(e), imageImportCommand(e), imageListCommand(e),
		imageInspectCommand(e), imageTagCommand(e), imageRemoveCommand(e), imagePruneCommand(e))
	return c
}

// openImages opens the image store, with a progress display on standard
// error when it is a terminal and quiet is false.
func (e *env) openImages(quiet bool, opts ...image.Option) (*image.Store, func(), error) {
	var bar *progressBar
	if !quiet && isTerminal(e.stderr) {
		bar = &progressBar{w: e.stderr, start: time.Now(), now: time.Now}
		opts = append(opts, image.WithProgress(bar.report))
	}
	s, err := image.Open(e.imagesDir, opts...)
	if err != nil {
		return nil, nil, err
	}
	return s, func() {
		if bar != nil {
			bar.finish()
		}
	}, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar shows a Pull, Load or Import on one line of a terminal:
// layers, bytes and rate.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	now   func() time.Time // the clock the rate is computed with
	start time.Time
	last  time.Time
	shown bool
}

func (b *progressBar) report(p image.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if p.Event == image.EventBytes && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	total := "?"
	if p.BytesTotal >= 0 {
		total = humanBytes(p.BytesTotal)
	}
	rate := float64(p.BytesDone) / max(now.Sub(b.start).Seconds(), 0.001)
	fmt.Fprintf(b.w, "\r\033[K%s: layers %d/%d, %s of %s, %s/s", p.Ref, p.LayersDone, p.LayersTotal,
		humanBytes(p.BytesDone), total, humanBytes(int64(rate)))
	b.shown = true
	if p.Event == image.EventDone {
		fmt.Fprintln(b.w)
		b.shown = false
	}
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprintln(b.w)
	}
}

// humanBytes writes n in SI units, as podman and docker do.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGT"[i-1])
}

func imageLoadCommand(e *env) *cobra.Command {
	var input string
	var quiet bool
	c := &cobra.Command{
		Use:   "load -i FILE",
		Short: "Load images from a docker save or podman save archive, an OCI archive (either may be gzip- or zstd-compressed) or an OCI layout directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, done, err := e.openImages(quiet)
			if err != nil {
				return err
			}
			loaded, err := s.Load(cmd.Context(), input)
			done()
			if err != nil {
				return err
			}
			for _, l := range loaded {
				names := strings.Join(l.Names, ", ")
				if names == "" {
					names = "(untagged)"
				}
				fmt.Fprintf(e.stdout, "Loaded image %s %s\n", names, l.ID)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&input, "input", "i", "", "the archive or OCI layout directory")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "show no progress")
	_ = c.MarkFlagRequired("input")
	return c
}

func imagePullCommand(e *env) *cobra.Command {
	var quiet bool
	var plainHTTP []string
	c := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull an image from its registry (HTTPS with the system's CAs; credentials from the Docker config file)",
		Long: `Pull an image from its registry, over HTTPS with the system's certificate
authorities, with credentials from the Docker config file ($DOCKER_CONFIG/config.json
or ~/.docker/config.json). A registry on localhost (127.0.0.1, ::1) may answer in plain
HTTP; another only when named with --plain-http.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, done, err := e.openImages(quiet, image.WithInsecureRegistries(plainHTTP...))
			if err != nil {
				return err
			}
			img, err := s.Pull(cmd.Context(), args[0])
			done()
			if err != nil {
				return err
			}
			if img.Release != nil {
				img.Release()
			}
			fmt.Fprintf(e.stdout, "Pulled image %s %s\n", img.Name, img.ID)
			return nil
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "show no progress")
	c.Flags().StringSliceVar(&plainHTTP, "plain-http", nil, "registries (HOST[:PORT]) that may answer in plain HTTP")
	return c
}

func imageImportCommand(e *env) *cobra.Command {
	var (
		ref   string
		cfg   image.ImportConfig
		quiet bool
	)
	c := &cobra.Command{
		Use:   "import FILE --ref NAME:TAG",
		Short: "Import a root filesystem tarball (docker export, mmdebstrap) as a one-layer image",
		Long: `Import a root filesystem tarball (from docker export, or a Debian tree built with
mmdebstrap; gzip-compressed or not; - for standard input) as a one-layer image for
this machine's architecture. The image records the given entrypoint, command,
environment, working directory and user. Its created time is zero, so the same
tarball and settings always give the same image digest.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = e.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			s, done, err := e.openImages(quiet)
			if err != nil {
				return err
			}
			l, err := s.Import(cmd.Context(), r, ref, cfg)
			done()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Imported image %s %s\n", strings.Join(l.Names, ", "), l.ID)
			return nil
		},
	}
	c.Flags().StringVar(&ref, "ref", "", "the image's name and tag (NAME:TAG)")
	c.Flags().StringArrayVar(&cfg.Entrypoint, "entrypoint", nil, "an argument of the entrypoint (repeat for each)")
	c.Flags().StringArrayVar(&cfg.Cmd, "cmd", nil, "an argument of the default command (repeat for each)")
	c.Flags().StringArrayVar(&cfg.Env, "env", nil, "an environment variable KEY=value (repeat for each)")
	c.Flags().StringVar(&cfg.WorkingDir, "workdir", "", "the working directory")
	c.Flags().StringVar(&cfg.User, "user", "", "the user: name, uid, name:group or uid:gid")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "show no progress")
	_ = c.MarkFlagRequired("ref")
	return c
}

func imageListCommand(e *env) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the images in the store",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output: %q: must be text or json", output)
			}
			s, err := image.Open(e.imagesDir)
			if err != nil {
				return err
			}
			list, err := s.List(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tIMAGE ID\tCREATED\tSIZE")
			for _, im := range list {
				created := "-"
				if !im.Created.IsZero() && im.Created.Unix() != 0 {
					created = im.Created.UTC().Format(time.RFC3339)
				}
				names := im.Names
				if len(names) == 0 {
					names = []string{"<none>"}
				}
				for _, n := range names {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n, shortID(im.ID), created, humanBytes(im.Size))
				}
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return c
}

// shortID is an image ID's first 12 hex digits, as podman and docker show
// it.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

func imageInspectCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect REF",
		Short: "Print an image's manifest, configuration and layers as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(e.imagesDir)
			if err != nil {
				return err
			}
			d, err := s.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(d)
		},
	}
}

func imageTagCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give an image another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(e.imagesDir)
			if err != nil {
				return err
			}
			return s.Tag(cmd.Context(), args[0], args[1])
		},
	}
}

func imageRemoveCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "rm REF...",
		Aliases: []string{"remove"},
		Short:   "Remove images' names; prune removes what no image uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(e.imagesDir)
			if err != nil {
				return err
			}
			var failed error
			for _, ref := range args {
				if err := s.Remove(cmd.Context(), ref); err != nil {
					fmt.Fprintln(e.stderr, "podkit:", err)
					failed = exitError{code: 1}
					continue
				}
				fmt.Fprintf(e.stdout, "Removed %s\n", ref)
			}
			return failed
		},
	}
}

func imagePruneCommand(e *env) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "prune",
		Short: "Remove the blobs and unpacked layers no image uses, and leftovers of interrupted pulls",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := image.Open(e.imagesDir)
			if err != nil {
				return err
			}
			if output != "text" && output != "json" {
				return fmt.Errorf("--output: %q: must be text or json", output)
			}
			r, err := s.Prune(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			fmt.Fprintf(e.stdout, "Removed %d untagged images, %d blobs and %d unpacked layers: %s freed\n",
				len(r.Images), r.Blobs, r.Layers, humanBytes(r.Freed))
			if r.Busy > 0 {
				fmt.Fprintf(e.stdout, "Kept %d unused layers that running containers hold\n", r.Busy)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return c
}
