package kube_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podkit/podkit/kube"
)

func TestValidate(t *testing.T) {
	valid := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metaName("web"),
			Spec: corev1.PodSpec{
				Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Containers: []corev1.Container{{Name: "app", Image: "i", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}}},
			},
		}
	}
	require.NoError(t, kube.Validate(valid()))
	for _, tt := range []struct {
		name string
		mod  func(p *corev1.Pod)
		want string
	}{
		{"pod name", func(p *corev1.Pod) { p.Name = "Web!" }, `metadata.name: "Web!": a lowercase RFC 1123 subdomain`},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, "spec.containers: required"},
		{"container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "a.b" }, `spec.containers[0].name: "a.b": must not contain dots`},
		{"duplicate across init and main", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "app", Image: "i"}}
		}, `spec.containers[0].name: "app": duplicate container name`},
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, "spec.containers[0].image: required"},
		{"volume name", func(p *corev1.Pod) { p.Spec.Volumes[0].Name = "Data" }, `spec.volumes[0].name: "Data"`},
		{"volume sources", func(p *corev1.Pod) { p.Spec.Volumes[0].HostPath = &corev1.HostPathVolumeSource{Path: "/"} }, "spec.volumes[0]: 2 volume sources"},
		{"mount of no volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "other", MountPath: "/x"}}
		}, `spec.containers[0].volumeMounts[0].name: "other": no volume of that name`},
		{"port", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, "spec.containers[0].ports[0].containerPort: 70000: must be a port number"},
		{"host network port", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 18091
		}, "spec.containers[0].ports[0].hostPort: 18091: must match containerPort (80) when hostNetwork is true"},
		{"port name", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "1234" }, `spec.containers[0].ports[0].name: "1234"`},
		{"probe port", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(0)}}}
		}, "spec.containers[0].readinessProbe.tcpSocket.port: 0: must be a port number"},
		{"probe handlers", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe = &corev1.Probe{} }, "spec.containers[0].livenessProbe: 0 handlers"},
		{"liveness success threshold", func(p *corev1.Pod) {
			p.Spec.Containers[0].StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 1}}, SuccessThreshold: 2}
		}, "spec.containers[0].startupProbe.successThreshold: 2: must be 1"},
		{"negative period", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 1}}, PeriodSeconds: -1}
		}, "spec.containers[0].readinessProbe.periodSeconds: -1: must not be negative"},
		{"readiness grace period", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 1}}, TerminationGracePeriodSeconds: ptr(int64(5))}
		}, "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: must not be set for readiness probes"},
		{"stop signal without os", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{StopSignal: ptr(corev1.SIGINT)}
		}, "spec.containers[0].lifecycle.stopSignal: may not be set for pods without spec.os.name"},
		{"rules without policy", func(p *corev1.Pod) {
			p.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Restart", ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: []int32{1}}}}
		}, "spec.containers[0].restartPolicy: required with restartPolicyRules"},
		{"request over limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = resources("2", "1")
		}, "spec.containers[0].resources.requests.cpu: 2: must not exceed the limit (1)"},
		{"active deadline", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(0)) }, "spec.activeDeadlineSeconds: 0 is out of range (1 to 3153600000 seconds)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.mod(p)
			err := kube.Validate(p)
			require.ErrorIs(t, err, kube.ErrInvalid)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

func resources(cpuRequest, cpuLimit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuRequest)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLimit)},
	}
}
