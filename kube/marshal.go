package kube

import (
	"bytes"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Marshal returns obj as YAML, as kubectl prints it: keys in alphabetical
// order, apiVersion and kind set (for a Pod, Deployment or Job, whatever
// obj's TypeMeta says; for another object, its TypeMeta must say it), and
// without the empty status that Go's zero value would print. obj is not
// modified.
func Marshal(obj runtime.Object) ([]byte, error) {
	obj = obj.DeepCopyObject()
	var gvk schema.GroupVersionKind
	switch obj.(type) {
	case *corev1.Pod:
		gvk = corev1.SchemeGroupVersion.WithKind("Pod")
	case *appsv1.Deployment:
		gvk = appsv1.SchemeGroupVersion.WithKind("Deployment")
	case *batchv1.Job:
		gvk = batchv1.SchemeGroupVersion.WithKind("Job")
	default:
		gvk = obj.GetObjectKind().GroupVersionKind()
		if gvk.Kind == "" || gvk.Version == "" {
			return nil, fmt.Errorf("kube: marshal %T: apiVersion and kind are not set", obj)
		}
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("kube: marshal %T: %w", obj, err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber() // keeps integers exact
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("kube: marshal %T: %w", obj, err)
	}
	prune(m)
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("kube: marshal %T: %w", obj, err)
	}
	return out, nil
}

// prune removes the empty objects that Go's zero values print and that
// mean nothing: the object's status, and a container's resources. Other
// empty objects, such as emptyDir: {}, mean something and stay.
func prune(m map[string]any) {
	dropEmpty(m, "status")
	spec, _ := m["spec"].(map[string]any)
	if tmpl, ok := spec["template"].(map[string]any); ok {
		spec, _ = tmpl["spec"].(map[string]any)
	}
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			if c, ok := c.(map[string]any); ok {
				dropEmpty(c, "resources")
			}
		}
	}
}

func dropEmpty(m map[string]any, key string) {
	if v, ok := m[key].(map[string]any); ok && len(v) == 0 {
		delete(m, key)
	}
}
