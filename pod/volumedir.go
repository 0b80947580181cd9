package pod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// VolumesDirEnv names the environment variable that, outside a pod,
// overrides ExportVolumesDir for VolumeDir.
const VolumesDirEnv = "PODKIT_VOLUMES_DIR"

// VolumeDir returns the directory of the named volume for code that runs
// either as an in-process container or as that container's process form
// (its ExportArgs run by the podkit command). With ctx an in-process
// container's (see FromContext), it is the pod's volume, as Pod.VolumePath
// returns it, with its errors. Otherwise it is $PODKIT_VOLUMES_DIR/<volume>,
// or ExportVolumesDir/<volume> without that variable: where a pod exported
// to Kubernetes mounts the volume. Outside a pod it neither checks nor
// creates the directory. It does not block, and is safe for concurrent use.
func VolumeDir(ctx context.Context, volume string) (string, error) {
	if volume == "" {
		return "", errors.New("pod: volume: empty name")
	}
	if self, ok := FromContext(ctx); ok {
		return self.Pod.VolumePath(volume)
	}
	if volume == "." || volume == ".." || strings.ContainsRune(volume, '/') {
		return "", fmt.Errorf("pod: volume %q: not a volume name", volume)
	}
	dir := os.Getenv(VolumesDirEnv)
	if dir == "" {
		dir = ExportVolumesDir
	}
	return filepath.Join(dir, volume), nil
}
