// Package exported holds what the process forms of podkit's in-process
// members share: how they find the pod's volumes when they run as a
// container of a pod exported to Kubernetes.
package exported

import (
	"os"
	"path/filepath"

	"github.com/podkit/podkit/pod"
)

// VolumesDirEnv names the environment variable that overrides
// pod.ExportVolumesDir.
const VolumesDirEnv = "PODKIT_VOLUMES_DIR"

// VolumePath returns the directory of the named volume for a process form:
// $PODKIT_VOLUMES_DIR/<name>, or pod.ExportVolumesDir/<name>.
func VolumePath(name string) string {
	dir := os.Getenv(VolumesDirEnv)
	if dir == "" {
		dir = pod.ExportVolumesDir
	}
	return filepath.Join(dir, name)
}
