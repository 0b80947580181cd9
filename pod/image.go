package pod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/shim"
)

// ImageStore gives a pod the images its containers run from. Package image's
// Store implements it; WithImages gives it to a pod. A pod calls it from
// the goroutine that starts a container, concurrently for several
// containers and pods, so implementations must be safe for concurrent use.
type ImageStore interface {
	// Lookup returns the image ref names if the store holds it, with its
	// layers unpacked, without asking a registry. An image the store does
	// not hold gives an error wrapping ErrImageNotPresent; a ref that is
	// not a valid image reference, ErrInvalidImageName.
	Lookup(ctx context.Context, ref string) (*Image, error)
	// Pull fetches ref from its registry into the store, sending only
	// what the store lacks, and returns it as Lookup does. It blocks until
	// the image is stored and unpacked, or ctx is done.
	Pull(ctx context.Context, ref string) (*Image, error)
}

// Image is an image ready to run: stored, verified and unpacked.
type Image struct {
	// Name is the full reference, such as
	// "index.docker.io/library/busybox:1.36".
	Name string
	// Digest is the digest of the image's manifest, "sha256:...".
	Digest string
	// ID is the digest of the image's configuration, as kubectl and
	// podman show an image ID.
	ID string
	// Size is the size in bytes of the image's layers as stored
	// (compressed).
	Size int64
	// Layers are the directories of the image's unpacked layers, bottom
	// layer first, in overlayfs's form (whiteouts as 0/0 character
	// devices, opaque directories marked with trusted.overlay.opaque).
	// They are shared and must never be written.
	Layers []string
	// Config is what the image says about running it.
	Config ImageConfig
	// Release, when not nil, is called once by the pod when no container
	// uses the image any longer; until then the store keeps its layers,
	// whatever removes or prunes images.
	Release func()
}

// ImageConfig is the part of an image's configuration that decides how its
// containers run (the OCI image configuration's config object).
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	// Env holds "KEY=value" entries.
	Env        []string
	WorkingDir string
	// User is "user", "uid", "user:group" or "uid:gid", resolved through
	// the image's own /etc/passwd and /etc/group.
	User string
	// StopSignal is a signal name such as "SIGQUIT", or "".
	StopSignal string
}

var (
	// ErrImageNotPresent is wrapped by ImageStore.Lookup's error for an
	// image the store does not hold.
	ErrImageNotPresent = errors.New("image not present")
	// ErrInvalidImageName is wrapped by an ImageStore's error for a
	// reference that names no image.
	ErrInvalidImageName = errors.New("invalid image name")
	// ErrNoImageStore is returned by Start for a pod with a container to
	// run from an image and no image store (WithImages).
	ErrNoImageStore = errors.New("no image store to run images from (pod.WithImages)")
)

// PullPolicy says when a container's image is pulled, as Kubernetes'
// imagePullPolicy does.
type PullPolicy string

const (
	// PullAlways pulls the image every time a container starts; only
	// what changed is downloaded.
	PullAlways PullPolicy = "Always"
	// PullIfNotPresent pulls the image only when the store lacks it.
	PullIfNotPresent PullPolicy = "IfNotPresent"
	// PullNever never pulls: the image must be in the store.
	PullNever PullPolicy = "Never"
)

// DefaultPullPolicy returns the kubelet's default pull policy for image: a
// reference with the tag "latest" or with neither tag nor digest is pulled
// Always, any other IfNotPresent.
func DefaultPullPolicy(image string) PullPolicy {
	if strings.Contains(image, "@") {
		return PullIfNotPresent
	}
	// The tag follows the last ':' after the last '/' (a ':' before it
	// is a registry's port).
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	if i < 0 || last[i+1:] == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}

// validateImage checks a process container's image, pull policy and
// command.
func (p *Pod) validateImage(errs *fieldErrors, field string, c Container) {
	switch c.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		errs.add(field+".imagePullPolicy", string(c.ImagePullPolicy), `must be "Always", "IfNotPresent" or "Never"`)
	}
	if c.Image == "" {
		if c.ImagePullPolicy != "" {
			errs.add(field+".imagePullPolicy", string(c.ImagePullPolicy), "set without an image")
		}
		if len(c.Command) == 0 || c.Command[0] == "" {
			errs.add(field+".command", fmt.Sprintf("%q", c.Command), "required: the container has no image to take a default command from")
		}
		return
	}
	if strings.TrimSpace(c.Image) != c.Image {
		errs.add(field+".image", c.Image, "must not have leading or trailing whitespace")
	}
	if c.RootFS != "" {
		errs.add(field+".rootFS", c.RootFS, "must not be set with an image: the image is the root filesystem")
	}
	if c.SharedHostFilesystem {
		errs.add(field+".sharedHostFilesystem", "true", "must not be set with an image: the container does not see the host's filesystem")
	}
	if len(c.Command) > 0 && c.Command[0] == "" {
		errs.add(field+".command[0]", "", "must not be empty")
	}
}

// pullPolicy is c's image pull policy, defaulted as the kubelet does.
func (c Container) pullPolicy() PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	return DefaultPullPolicy(c.Image)
}

// imageFor makes m's image available under its pull policy, as the kubelet
// does before it creates the container, and returns it. A failure leaves
// the container waiting (ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
// InvalidImageName) and is retried with the back-off until it succeeds or
// the pod stops; ok is false in that case.
func (p *Pod) imageFor(m *member) (img *Image, ok bool) {
	ctx, cancel := context.WithCancel(p.values)
	defer cancel()
	go func() {
		select {
		case <-p.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	var backoff backoffState
	for {
		img, err := p.getImage(ctx, m)
		if err == nil {
			return img, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		// The containers after m start meanwhile, as the kubelet goes on
		// to the next container when a pull fails.
		p.markLaunched(m)
		delay := backoff.next(p.cfg.backoff, 0)
		if delay == 0 {
			// The kubelet retries a failed pull after its initial
			// back-off, not at once.
			delay = backoff.next(p.cfg.backoff, 0)
		}
		p.mu.Lock()
		cs := &p.status.Containers[m.index]
		waiting := cs.State.Waiting
		if waiting != nil && waiting.Reason == ReasonErrImagePull {
			msg := fmt.Sprintf("Back-off pulling image %q", m.spec.Image)
			cs.State = ContainerState{Waiting: &StateWaiting{Reason: ReasonImagePullBackOff, Message: msg}}
			p.emitLocked(Event{Reason: EventBackOff, Type: EventWarning, Container: m.spec.Name, Role: m.role,
				Delay: delay, Message: msg})
		}
		p.mu.Unlock()
		t := p.clock.NewTimer(delay)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return nil, false
		}
	}
}

// getImage is one attempt of imageFor, which records its outcome in m's
// state and events.
func (p *Pod) getImage(ctx context.Context, m *member) (*Image, error) {
	ref, policy := m.spec.Image, m.spec.pullPolicy()
	fail := func(reason, event, msg string, err error) (*Image, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if ctx.Err() == nil {
			p.status.Containers[m.index].State = ContainerState{Waiting: &StateWaiting{Reason: reason, Message: msg}}
			p.emitLocked(Event{Reason: event, Type: EventWarning, Container: m.spec.Name, Role: m.role, Message: msg})
		}
		return nil, err
	}
	img, err := p.cfg.images.Lookup(ctx, ref)
	if errors.Is(err, ErrInvalidImageName) {
		// Checked before any pull, as the kubelet checks it.
		return fail(ReasonInvalidImageName, EventInspectFailed,
			fmt.Sprintf("Failed to apply default image tag %q: %v", ref, err), err)
	}
	if err == nil && policy == PullAlways && img.Release != nil {
		img.Release()
	}
	if policy != PullAlways {
		switch {
		case err == nil:
			p.mu.Lock()
			p.emitLocked(Event{Reason: EventPulled, Container: m.spec.Name, Role: m.role,
				Message: fmt.Sprintf("Container image %q already present on machine", ref)})
			p.mu.Unlock()
			return img, nil
		case !errors.Is(err, ErrImageNotPresent):
			return fail(ReasonErrImagePull, EventFailed, fmt.Sprintf("Failed to inspect image %q: %v", ref, err), err)
		case policy == PullNever:
			return fail(ReasonErrImageNeverPull, EventErrImageNeverPull,
				fmt.Sprintf("Container image %q is not present with pull policy of Never", ref), err)
		}
	}
	p.mu.Lock()
	p.emitLocked(Event{Reason: EventPulling, Container: m.spec.Name, Role: m.role, Message: fmt.Sprintf("Pulling image %q", ref)})
	p.mu.Unlock()
	begin := p.clock.Now()
	img, err = p.cfg.images.Pull(ctx, ref)
	if errors.Is(err, ErrInvalidImageName) {
		return fail(ReasonInvalidImageName, EventInspectFailed,
			fmt.Sprintf("Failed to apply default image tag %q: %v", ref, err), err)
	}
	if err != nil {
		msg := fmt.Sprintf("Failed to pull image %q: %v", ref, err)
		if policy == PullAlways {
			if _, lerr := p.cfg.images.Lookup(ctx, ref); lerr == nil {
				msg += "; the image is in the local store: imagePullPolicy IfNotPresent runs it without a registry"
			}
		}
		return fail(ReasonErrImagePull, EventFailed, msg, err)
	}
	took := p.clock.Since(begin).Round(time.Millisecond)
	p.mu.Lock()
	p.emitLocked(Event{Reason: EventPulled, Container: m.spec.Name, Role: m.role,
		Message: fmt.Sprintf("Successfully pulled image %q in %s. Image size: %d bytes.", ref, took, img.Size)})
	p.mu.Unlock()
	return img, nil
}

// imageCommand returns the command line of c run from img, by Kubernetes'
// rules: Command replaces the image's Entrypoint and Cmd; Args alone
// replace Cmd.
func imageCommand(c Container, img ImageConfig) ([]string, error) {
	var argv []string
	switch {
	case len(c.Command) > 0:
		argv = append(append(argv, c.Command...), c.Args...)
	case len(c.Args) > 0:
		argv = append(append(argv, img.Entrypoint...), c.Args...)
	default:
		argv = append(append(argv, img.Entrypoint...), img.Cmd...)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("no command specified: the image has neither Entrypoint nor Cmd, and the container sets no command")
	}
	return argv, nil
}

// containerDir is where the state of c's current instance lives: its root
// mount point and writable layer.
func (p *Pod) containerDir(c Container) string {
	return filepath.Join(p.podsDir(), p.ownerName, "containers", c.Name)
}

// ownsRoot reports whether each instance of c gets a root filesystem with a
// private writable layer: from its image, or over the host's.
func (c Container) ownsRoot() bool {
	return c.Func == nil && c.RootFS == "" && (c.Image != "" || !c.SharedHostFilesystem)
}

// prepareHostView creates, fresh for each instance, the mount point and the
// writable layers of c's view of the host's filesystem.
func (p *Pod) prepareHostView(c Container) (shim.Filesystem, error) {
	fs := p.filesystem(c)
	if err := p.createStateTree(); err != nil {
		return fs, fmt.Errorf("state directory: %w", err)
	}
	dir := p.containerDir(c)
	if err := ensurePrivateDir(filepath.Dir(dir)); err != nil {
		return fs, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fs, fmt.Errorf("writable layer: %w", err)
	}
	for _, d := range []string{dir, fs.Rootfs, fs.HostUpper} {
		if err := os.Mkdir(d, privateDir); err != nil {
			return fs, fmt.Errorf("writable layer: %w", err)
		}
	}
	return fs, nil
}

// prepareImageRoot creates, fresh for each instance, the mount point and
// the writable layer of c's root filesystem, and returns the filesystem
// set-up that mounts img on it.
func (p *Pod) prepareImageRoot(c Container, img *Image) (shim.Filesystem, error) {
	if err := p.createStateTree(); err != nil {
		return shim.Filesystem{}, fmt.Errorf("state directory: %w", err)
	}
	dir := p.containerDir(c)
	if err := ensurePrivateDir(filepath.Dir(dir)); err != nil {
		return shim.Filesystem{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return shim.Filesystem{}, fmt.Errorf("writable layer: %w", err)
	}
	fs := p.filesystem(c)
	fs.Rootfs, fs.Upper, fs.Work, fs.HostUpper = filepath.Join(dir, "root"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"), ""
	fs.Masks = p.cfg.maskedPaths
	fs.Layers = img.Layers
	for _, d := range []string{dir, fs.Rootfs, fs.Upper, fs.Work} {
		if err := os.Mkdir(d, privateDir); err != nil {
			return shim.Filesystem{}, fmt.Errorf("writable layer: %w", err)
		}
	}
	// The writable layer's top directory is the container's "/": it takes
	// the mode of the image's, which every user of the container passes
	// through. Its parent, closed, keeps other users of the host out.
	top, err := os.Stat(img.Layers[len(img.Layers)-1])
	if err != nil {
		return shim.Filesystem{}, fmt.Errorf("image layer: %w", err)
	}
	if err := os.Chmod(fs.Upper, top.Mode().Perm()); err != nil {
		return shim.Filesystem{}, fmt.Errorf("writable layer: %w", err)
	}
	fs.Files = p.etcFiles()
	return fs, nil
}

// removeRoot removes the writable layer of c's last instance.
func (p *Pod) removeRoot(c Container) {
	if err := os.RemoveAll(p.containerDir(c)); err != nil {
		p.log.Warn("cannot remove a container's writable layer", zap.String("container", c.Name), zap.Error(err))
	}
}

// etcFiles are the pod's /etc/hosts, /etc/hostname and /etc/resolv.conf,
// bound into every container with a root filesystem of its own, as the
// kubelet binds them.
func (p *Pod) etcFiles() []shim.Mount {
	dir := filepath.Join(p.podsDir(), p.ownerName, "etc")
	return []shim.Mount{
		{Source: filepath.Join(dir, "hosts"), Target: "/etc/hosts"},
		{Source: filepath.Join(dir, "hostname"), Target: "/etc/hostname"},
		{Source: filepath.Join(dir, "resolv.conf"), Target: "/etc/resolv.conf"},
	}
}

// writeEtcFiles writes the files etcFiles binds, once the pod's addresses
// are known.
func (p *Pod) writeEtcFiles() error {
	if err := p.createStateTree(); err != nil {
		return err
	}
	dir := filepath.Join(p.podsDir(), p.ownerName, "etc")
	if err := ensurePrivateDir(dir); err != nil {
		return err
	}
	p.mu.Lock()
	podIP := p.status.PodIP
	p.mu.Unlock()
	hosts, err := podHosts(p.spec.Network.Mode, p.spec.Hostname, podIP)
	if err != nil {
		return err
	}
	hosts = append(hosts, hostAliasEntries(p.spec.HostAliases)...)
	resolv, warnings := p.spec.resolvConf(podResolvConf())
	p.mu.Lock()
	for _, w := range warnings {
		p.emitLocked(Event{Reason: EventDNSConfigForming, Type: EventWarning, Message: w})
	}
	p.mu.Unlock()
	files := map[string][]byte{
		"hosts":       hosts,
		"hostname":    []byte(p.spec.Hostname + "\n"),
		"resolv.conf": resolv,
	}
	for name, data := range files {
		// 0644 so that a container's non-root user reads them through
		// the bind mount.
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// podHosts is the pod's /etc/hosts as the kubelet writes it: loopback
// names, then the pod's address under its hostname. A pod on the host's
// network gets the host's file. The host aliases follow (hostAliasEntries).
func podHosts(mode NetworkMode, hostname, podIP string) ([]byte, error) {
	if mode == NetworkHost {
		return os.ReadFile("/etc/hosts")
	}
	if podIP == "" || podIP == loopbackIP {
		podIP = "127.0.1.1"
	}
	return []byte("# Kubernetes-managed hosts file (podkit).\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n" +
		podIP + "\t" + hostname + "\n"), nil
}

// podResolvConf is the host's resolver configuration, as the kubelet gives
// a pod with dnsPolicy Default; a stub resolver on the host's loopback
// (systemd-resolved's 127.0.0.53) is replaced by its upstream servers,
// which a pod's own loopback does not reach.
func podResolvConf() []byte {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	if strings.Contains(string(data), "nameserver 127.") {
		if up, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			return up
		}
	}
	return data
}

// runsImages reports whether a container of the pod runs from an image.
func (p *Pod) runsImages() bool {
	for _, m := range p.members {
		if m.spec.Image != "" && m.spec.Func == nil {
			return true
		}
	}
	return false
}

// stopSignalLocked is the signal that stops m's running instance
// gracefully: its StopSignal, or, when the spec sets none, its image's
// STOPSIGNAL, as the container runtimes under the kubelet honour it.
// Guarded by Pod.mu.
func (m *member) stopSignalLocked() syscall.Signal {
	if m.imageStop && m.image != nil {
		if sig, ok := parseSignal(m.image.StopSignal); ok {
			return sig
		}
	}
	return m.spec.StopSignal
}

// parseSignal reads a signal as an image configuration names it:
// "SIGQUIT", "QUIT" or "3".
func parseSignal(s string) (syscall.Signal, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(s); err == nil {
		return syscall.Signal(n), n > 0 && n <= 64
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	return sig, sig != 0
}

// imageSetup completes the set-up of a container that runs from an image
// with configuration img: the user, resolved inside the image unless the
// security context names both user and group, and the command looked up
// there. It refuses root under RunAsNonRoot, with the kubelet's words.
func imageSetup(c Container, setup shim.Setup, img ImageConfig) (shim.Setup, error) {
	sc := c.SecurityContext
	setup.LookPath = true
	switch {
	case sc == nil || sc.RunAsUser == nil:
		// Resolved even for root, for the groups and HOME the image's
		// files give the user.
		setup.User = cmp.Or(img.User, "0")
	case sc.RunAsGroup == nil:
		// The user's primary group comes from the image's /etc/passwd.
		setup.UID, setup.GID = nil, nil
		setup.User = strconv.FormatInt(*sc.RunAsUser, 10)
		if len(sc.SupplementalGroups) == 0 {
			setup.Groups = nil
		}
	}
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser != nil {
		return setup, nil
	}
	u, _, _ := strings.Cut(img.User, ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	switch {
	case u == "" || err == nil && uid == 0:
		return setup, errors.New("container has runAsNonRoot and image will run as root")
	case err != nil:
		return setup, fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root", u)
	}
	return setup, nil
}
