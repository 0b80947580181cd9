package sidecar

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/podkit/podkit/internal/memberconf"
	"github.com/podkit/podkit/pod"
)

// Command returns a sidecar that runs a process: argv[0] with the rest of
// argv as its arguments. Set further fields (probes, resources, volume
// mounts) on the Container it returns.
func Command(name string, argv ...string) pod.Container {
	return pod.Container{Name: name, Command: argv, RestartPolicy: pod.RestartAlways}
}

// Func returns an in-process sidecar: fn runs in a goroutine of this
// program with the lifecycle of a sidecar process (see pod.Container.Func).
// fn must return once its context is done; pod.FromContext gives it its pod
// and output streams.
func Func(name string, fn func(ctx context.Context) error) pod.Container {
	return pod.Container{Name: name, Func: fn, RestartPolicy: pod.RestartAlways}
}

// errNoPod is returned by a ready-made sidecar's Run when it needs its pod
// and its context has none.
var errNoPod = errors.New("not running as an in-process container of a pod (pod.FromContext)")

// inVolume resolves path: relative to the pod's volume when volume is set,
// otherwise as it is. Outside a pod (the process form of a ready-made
// sidecar) the volume is where an exported pod mounts it.
func inVolume(ctx context.Context, volume, path string) (string, error) {
	if volume == "" {
		return path, nil
	}
	dir, err := pod.VolumeDir(ctx, volume)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, path), nil
}

// validName checks a container name given to a ready-made sidecar's
// Container method; the pod checks the rest.
func validName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("sidecar: %s: name: required", kind)
	}
	return nil
}

// exportArgs returns the podkit command line that runs the ready-made
// sidecar use, configured by cfg, as a process: "sidecar USE FLAGS...".
func exportArgs(use string, cfg any) ([]string, error) {
	args, err := memberconf.Args(cfg)
	if err != nil {
		return nil, fmt.Errorf("sidecar: %s: %w", use, err)
	}
	return append([]string{"sidecar", use}, args...), nil
}
