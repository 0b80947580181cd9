package pod

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/podkit/podkit/internal/shim"
)

// TerminationMessagePolicy says where a container's termination message
// comes from, as Kubernetes' terminationMessagePolicy.
type TerminationMessagePolicy string

const (
	// TerminationMessageReadFile takes the message from the container's
	// TerminationMessagePath only. The default.
	TerminationMessageReadFile TerminationMessagePolicy = "File"
	// TerminationMessageFallbackToLogsOnError takes it from the end of the
	// container's output (the last 80 lines, at most 2 KiB) when the file
	// is empty and the container failed.
	TerminationMessageFallbackToLogsOnError TerminationMessagePolicy = "FallbackToLogsOnError"
)

// DefaultTerminationMessagePath is where a container writes its termination
// message unless its TerminationMessagePath says otherwise, as in
// Kubernetes.
const DefaultTerminationMessagePath = "/dev/termination-log"

// Bounds of a termination message, as the kubelet's.
const (
	maxTerminationMessage     = 4 << 10 // read from the file
	maxTerminationLogMessage  = 2 << 10 // taken from the output
	maxTerminationLogMessageN = 80      // lines of output
)

// validateTermination checks c's termination message fields.
func (c Container) validateTermination(errs *fieldErrors, field string) {
	switch c.TerminationMessagePolicy {
	case "", TerminationMessageReadFile, TerminationMessageFallbackToLogsOnError:
	default:
		errs.add(field+".terminationMessagePolicy", string(c.TerminationMessagePolicy), `must be "File" or "FallbackToLogsOnError"`)
	}
	path := c.TerminationMessagePath
	if path == "" {
		return
	}
	switch {
	case !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/":
		errs.add(field+".terminationMessagePath", path, "must be a clean absolute path to a file")
	case strings.IndexByte(path, 0) >= 0:
		errs.add(field+".terminationMessagePath", path, "contains a NUL byte")
	case c.Func != nil:
		errs.add(field+".terminationMessagePath", path, "must not be set on an in-process container (func)")
	case !c.hasRoot():
		errs.add(field+".terminationMessagePath", path, "needs a root filesystem of the container's own: not with sharedHostFilesystem")
	}
}

// hasRoot reports whether c's processes see a root filesystem of their own,
// where the termination message file is bound.
func (c Container) hasRoot() bool {
	return c.Func == nil && (c.RootFS != "" || c.ownsRoot())
}

// terminationFile creates, empty, the host file that the next instance of
// c finds at its TerminationMessagePath, and returns the mount that binds
// it there. As the kubelet's, the file is writable by every user of the
// container: it lives in the pod's private state directory.
func (p *Pod) terminationFile(c Container) (shim.Mount, error) {
	if err := p.createStateTree(); err != nil {
		return shim.Mount{}, fmt.Errorf("state directory: %w", err)
	}
	dir := filepath.Join(p.podsDir(), p.ownerName, "termination")
	if err := ensurePrivateDir(dir); err != nil {
		return shim.Mount{}, fmt.Errorf("termination message: %w", err)
	}
	name := filepath.Join(dir, c.Name)
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return shim.Mount{}, fmt.Errorf("termination message: %w", err)
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err == nil {
		err = f.Chmod(0o666) // past the umask
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		return shim.Mount{}, fmt.Errorf("termination message: %w", err)
	}
	target := c.TerminationMessagePath
	if target == "" {
		target = DefaultTerminationMessagePath
	}
	return shim.Mount{Source: name, Target: target}, nil
}

// terminationMessage returns the termination message of m's instance that
// ended with exitCode, its output in logs: the first 4 KiB of its file,
// or, under FallbackToLogsOnError, when that is empty and the container
// failed, the end of its output.
func (p *Pod) terminationMessage(m *member, exitCode int, logs *logBuffer) string {
	var msg string
	if m.spec.hasRoot() {
		var err error
		msg, err = readTerminationFile(filepath.Join(p.podsDir(), p.ownerName, "termination", m.spec.Name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			p.log.Warn("cannot read the termination message", zap.String("container", m.spec.Name), zap.Error(err))
		}
	}
	if msg != "" || exitCode == 0 || m.spec.TerminationMessagePolicy != TerminationMessageFallbackToLogsOnError {
		return msg
	}
	var b strings.Builder
	for _, e := range logs.tail(maxTerminationLogMessageN) {
		b.WriteString(e.Text)
		if !e.Partial {
			b.WriteByte('\n')
		}
	}
	out := b.String()
	if len(out) > maxTerminationLogMessage {
		out = out[len(out)-maxTerminationLogMessage:]
	}
	return out
}

// readTerminationFile reads the first maxTerminationMessage bytes of the
// termination message file name, which must be a regular file: the
// container could write it but not replace it, as it sees only the bind
// mount of it.
func readTerminationFile(name string) (string, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return "", err
	} else if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("termination message %s: not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTerminationMessage))
	return string(data), err
}
