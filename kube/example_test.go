package kube_test

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// Load maps a manifest onto a pod.Spec for pod.New, and says which fields
// mean nothing on one machine.
func ExampleLoad() {
	m, err := kube.Load([]byte(`
apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  restartPolicy: Never
  nodeSelector:
    disk: ssd
  containers:
  - name: hello
    image: busybox:1.36
    command: ["sh", "-c", "echo $(GREETING)"]
    env:
    - name: GREETING
      value: hello
    livenessProbe:
      exec:
        command: ["true"]
      periodSeconds: 5
`))
	if err != nil {
		log.Fatal(err)
	}
	c := m.Spec.Containers[0]
	fmt.Println(m.Name, m.Spec.RestartPolicy, c.Image, c.Command, c.LivenessProbe.Period)
	for _, w := range m.Warnings {
		fmt.Println("warning:", w)
	}
	p, err := pod.New(m.Name, m.Spec)
	fmt.Println(p != nil, err)
	// Output:
	// hello Never busybox:1.36 [sh -c echo hello] 5s
	// warning: spec.nodeSelector: ignored: scheduling does not apply, podkit runs the pod on this machine
	// true <nil>
}

// Export turns a pod.Spec into a manifest that Kubernetes runs the same
// way, and Load reads back.
func ExampleExport() {
	spec := pod.Spec{
		RestartPolicy: pod.RestartOnFailure,
		Volumes:       []pod.Volume{{Name: "data", EmptyDir: &pod.EmptyDirVolume{}}},
		Containers: []pod.Container{{
			Name:         "app",
			Image:        "example.com/app:1.0",
			Command:      []string{"app", "--data=/data"},
			Env:          []string{"PRICE=$(not a reference)"},
			Resources:    pod.Resources{CPULimit: 500, MemoryLimit: 128 << 20},
			VolumeMounts: []pod.VolumeMount{{Name: "data", MountPath: "/data"}},
			ReadinessProbe: &pod.Probe{
				HTTPGet: &pod.HTTPGetAction{Path: "/ready", Port: 8080},
				Period:  5 * time.Second,
			},
		}},
	}
	kp, err := kube.Export("app", spec, kube.ExportOptions{Labels: map[string]string{"team": "shop"}})
	if err != nil {
		log.Fatal(err)
	}
	out, err := kube.Marshal(kp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// apiVersion: v1
	// kind: Pod
	// metadata:
	//   labels:
	//     team: shop
	//   name: app
	// spec:
	//   containers:
	//   - command:
	//     - app
	//     - --data=/data
	//     env:
	//     - name: PRICE
	//       value: $$(not a reference)
	//     image: example.com/app:1.0
	//     name: app
	//     readinessProbe:
	//       httpGet:
	//         path: /ready
	//         port: 8080
	//       periodSeconds: 5
	//     resources:
	//       limits:
	//         cpu: 500m
	//         memory: 128Mi
	//     volumeMounts:
	//     - mountPath: /data
	//       name: data
	//   restartPolicy: OnFailure
	//   volumes:
	//   - emptyDir: {}
	//     name: data
}

// PodStatus gives a pod's status the shape of Kubernetes', with the
// kubelet's conditions, so that tools written against kubectl's output
// read it.
func ExamplePodStatus() {
	start := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	st := pod.Status{
		Phase:     pod.PhaseFailed,
		StartTime: start,
		Containers: []pod.ContainerStatus{{
			Name: "job", Role: pod.RoleMain, RestartCount: 2,
			State: pod.ContainerState{Terminated: &pod.StateTerminated{
				ExitCode: 3, Reason: pod.ReasonError, StartedAt: start, FinishedAt: start.Add(time.Second)}},
		}},
	}
	ks := kube.PodStatus(st)
	fmt.Println(ks.Phase, ks.ContainerStatuses[0].RestartCount, ks.ContainerStatuses[0].State.Terminated.Reason)
	for _, c := range ks.Conditions {
		fmt.Println(strings.TrimSpace(fmt.Sprint(c.Type, " ", c.Status, " ", c.Reason)))
	}
	// Output:
	// Failed 2 Error
	// PodReadyToStartContainers False
	// Initialized True
	// Ready False PodFailed
	// ContainersReady False PodFailed
	// PodScheduled True
}

// LoadFile reads a file of several documents, as kubectl apply -f takes
// it: each workload's pod template is mapped as a Pod, and the objects
// its pods may name are kept by name.
func ExampleLoadFile() {
	f, err := kube.LoadFile([]byte(`
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: batch/v1
kind: Job
metadata:
  name: report
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: report
        image: busybox:1.36
        command: ["echo", "done"]
`), kube.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	w := f.Workloads[0]
	fmt.Println(w, *w.Job.Completions, w.Job.BackoffLimit, w.Template.Spec.RestartPolicy, w.Template.Spec.Containers[0].Command)
	fmt.Println(f.ConfigMaps["settings"].Data["mode"])
	// Output:
	// Job "report" 1 2 Never [echo done]
	// fast
}

// Every problem of every document is reported at once, at its path in
// the manifest, in YAML's terms.
func ExampleError() {
	_, err := kube.LoadFile([]byte(`
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: "2"
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      restartPolicy: 5
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolice: Always
`), kube.LoadOptions{})
	var kerr *kube.Error
	if errors.As(err, &kerr) {
		for _, p := range kerr.Problems {
			fmt.Printf("%s (%s)\n", p, p.Kind)
		}
	}
	// Output:
	// documents[1].spec.replicas: must be an integer, got the string "2" (invalid)
	// documents[1].spec.template.spec.containers[0].imagePullPolice: unknown field; did you mean imagePullPolicy? (invalid)
	// documents[1].spec.template.spec.restartPolicy: must be Always, OnFailure or Never, got the number 5 (invalid)
}
