package kube_test

import (
	"fmt"
	"log"

	corev1 "k8s.io/api/core/v1"

	"github.com/podkit/podkit/kube"
)

// ConfigMaps given with the pod feed its environment and volumes; the
// downward API gives it its own name and address, filled in when the pod
// starts.
func ExampleLoadOptions_configMaps() {
	o := kube.LoadOptions{ConfigMaps: map[string]*corev1.ConfigMap{
		"web": {Data: map[string]string{"LOG_LEVEL": "debug", "nginx.conf": "worker_processes 1;\n"}},
	}}
	m, err := o.Load([]byte(`
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: nginx:1.27
    envFrom:
    - configMapRef: {name: web}
      prefix: WEB_
    env:
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    volumeMounts:
    - {name: conf, mountPath: /etc/nginx/conf.d}
  volumes:
  - name: conf
    configMap:
      name: web
      items: [{key: nginx.conf, path: default.conf}]
`))
	if err != nil {
		log.Fatal(err)
	}
	c := m.Spec.Containers[0]
	fmt.Printf("%q %v\n", c.Env, c.FieldEnv)
	for _, f := range m.Spec.Volumes[0].Projected.Files {
		fmt.Printf("%s: %q\n", f.Path, f.Data)
	}
	// Output:
	// ["WEB_LOG_LEVEL=debug" "WEB_nginx.conf=worker_processes 1;\n"] [{POD_IP status.podIP}]
	// default.conf: "worker_processes 1;\n"
}
