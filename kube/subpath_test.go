package kube_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// subPath maps as it is; subPathExpr is expanded with the container's
// environment, as the kubelet expands it; both export back as subPath.
func TestLoadSubPath(t *testing.T) {
	m, err := kube.Load(manifest(`  containers:
  - name: c
    image: busybox:1.36
    command: ["true"]
    env:
    - {name: SHARD, value: "3"}
    volumeMounts:
    - {name: v, mountPath: /etc/app.conf, subPath: conf/app.conf, readOnly: true}
    - {name: v, mountPath: /data, subPathExpr: "shards/$(SHARD)"}
  volumes:
  - name: v
    emptyDir: {}
`))
	require.NoError(t, err)
	assert.Equal(t, []pod.VolumeMount{
		{Name: "v", MountPath: "/etc/app.conf", SubPath: "conf/app.conf", ReadOnly: true},
		{Name: "v", MountPath: "/data", SubPath: "shards/3"},
	}, m.Spec.Containers[0].VolumeMounts)

	kp, err := kube.Export(m.Name, m.Spec, kube.ExportOptions{})
	require.NoError(t, err)
	assert.Equal(t, "conf/app.conf", kp.Spec.Containers[0].VolumeMounts[0].SubPath)
	assert.Equal(t, "shards/3", kp.Spec.Containers[0].VolumeMounts[1].SubPath)
}

func TestLoadSubPathErrors(t *testing.T) {
	for _, tc := range []struct{ mount, want string }{
		{`subPath: /abs`, `spec.containers[0].volumeMounts[0].subPath: "/abs": must be a relative path`},
		{`subPath: a/../..`, `spec.containers[0].volumeMounts[0].subPath: "a/../..": must not contain '..'`},
		{`subPathExpr: "$(UP)/x"`, `spec.containers[0].volumeMounts[0].subPathExpr: "../x": must not contain '..'`},
		{`{subPath: a, subPathExpr: b}`, `spec.containers[0].volumeMounts[0].subPathExpr: subPath and subPathExpr are mutually exclusive`},
	} {
		mount := "{name: v, mountPath: /m, " + tc.mount + "}"
		if tc.mount[0] == '{' {
			mount = "{name: v, mountPath: /m, " + tc.mount[1:]
		}
		_, err := kube.Load(manifest(`  containers:
  - name: c
    image: busybox:1.36
    env:
    - {name: UP, value: ".."}
    volumeMounts:
    - ` + mount + `
  volumes:
  - name: v
    emptyDir: {}
`))
		require.ErrorIs(t, err, kube.ErrInvalid, tc.mount)
		assert.ErrorContains(t, err, tc.want)
	}
}
