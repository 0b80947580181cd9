package kube

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/podkit/podkit/pod"
)

// Manifest is a Kubernetes Pod manifest mapped onto a pod.Spec.
type Manifest struct {
	// Name is the pod's metadata.name, to give to pod.New.
	Name string
	// Spec is what the manifest says, as podkit runs it; pod.New accepts it.
	Spec pod.Spec
	// Warnings name the fields that were set but mean nothing on one
	// machine (scheduling, image pulls, labels, ...), each as
	// "field.path: why".
	Warnings []string
	// Pod is the decoded manifest.
	Pod *corev1.Pod
}

// Load decodes one v1 Pod from YAML or JSON and maps it onto a pod.Spec,
// as FromPod does.
//
// Decoding is strict: a field the v1 Pod type does not have, a key given
// twice, an apiVersion other than v1 or a kind other than Pod, and input
// holding several YAML documents, are errors wrapping ErrInvalid, naming
// the field (spec.containers[0].imagePullPolicyy: unknown field).
func Load(data []byte) (*Manifest, error) {
	return LoadOptions{}.Load(data)
}

// LoadOptions change how a manifest is mapped. The zero value is Load's and
// FromPod's.
type LoadOptions struct {
	// Container, when not nil, rewrites each container (init containers
	// first, in order) once it is mapped and before pod.New checks the
	// spec; the warnings it returns join the manifest's, and its error,
	// which should name the container, fails the load. The podkit command
	// uses it to run its ready-made members in-process.
	Container func(c pod.Container) (pod.Container, []string, error)
	// ConfigMaps and Secrets are the ConfigMaps and Secrets the pod's env
	// and volumes may name, by name (those of the same file when loaded
	// with LoadFile).
	ConfigMaps map[string]*corev1.ConfigMap
	Secrets    map[string]*corev1.Secret
}

// Load is the package's Load with o.
func (o LoadOptions) Load(data []byte) (*Manifest, error) {
	kp, err := decode(data)
	if err != nil {
		return nil, err
	}
	return o.FromPod(kp)
}

// FromPod is the package's FromPod with o.
func (o LoadOptions) FromPod(kp *corev1.Pod) (*Manifest, error) {
	return o.fromPod(kp)
}

// FromPod maps a Pod onto a pod.Spec, with the rules of the package
// documentation. Every field podkit cannot honour is named in one error
// wrapping ErrUnsupported; a malformed manifest (missing name, a named port
// the container does not declare, a value Kubernetes would reject) gives
// an error wrapping ErrInvalid. The result is then checked by pod.New, so
// FromPod never returns a spec that the pod package rejects; pod.New's
// error is wrapped (pod.ErrInvalidSpec). Those checks look at this machine:
// hostPath volumes and volume mount paths must exist on it, and runAsUser
// must name one of its users.
//
// FromPod does not modify kp; the Manifest keeps it.
func FromPod(kp *corev1.Pod) (*Manifest, error) {
	return LoadOptions{}.fromPod(kp)
}

func (o LoadOptions) fromPod(kp *corev1.Pod) (*Manifest, error) {
	var pr problems
	name := kp.Name
	what := fmt.Sprintf("pod %q", name)
	if name == "" {
		what = "pod" // validate says the name is required
	}
	if kp.APIVersion != "" && kp.APIVersion != "v1" || kp.Kind != "" && kp.Kind != "Pod" {
		pr.invalidf("apiVersion", "%s, kind %s: want a v1 Pod", kp.APIVersion, kp.Kind)
	}
	pr.others("metadata", &kp.ObjectMeta, metadataRules, "name")
	if !isEmptyValue(kp.Status) {
		pr.warnf("status", "ignored: podkit reports the pod's status itself")
	}
	for _, msg := range validate(kp, false) {
		pr.invalid = append(pr.invalid, msg)
	}
	spec := mapPodSpec(&pr, "spec", &kp.Spec, &sources{meta: &kp.ObjectMeta, spec: &kp.Spec,
		configMaps: o.ConfigMaps, secrets: o.Secrets, node: thisNode()})
	if err := pr.err(what); err != nil {
		return nil, err
	}
	if o.Container != nil {
		for _, list := range [][]pod.Container{spec.InitContainers, spec.Containers} {
			for i := range list {
				c, warnings, err := o.Container(list[i])
				if err != nil {
					return nil, fmt.Errorf("kube: %s: %w", what, err)
				}
				list[i] = c
				pr.warnings = append(pr.warnings, warnings...)
			}
		}
	}
	if _, err := pod.New(name, spec); err != nil {
		return nil, fmt.Errorf("kube: %s: podkit rejects the spec: %w", what, err)
	}
	return &Manifest{Name: name, Spec: spec, Warnings: pr.warnings, Pod: kp}, nil
}

// decode reads exactly one v1 Pod, strictly.
func decode(data []byte) (*corev1.Pod, error) {
	docs, err := documents(data)
	if err != nil {
		return nil, err
	}
	switch len(docs) {
	case 0:
		return nil, fmt.Errorf("kube: %w: no manifest: the input is empty", ErrInvalid)
	case 1:
	default:
		return nil, fmt.Errorf("kube: %w: %d YAML documents: Load takes exactly one Pod", ErrInvalid, len(docs))
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(docs[0], &tm); err != nil {
		return nil, fmt.Errorf("kube: %w: not a Kubernetes object: %w", ErrInvalid, err)
	}
	if tm.APIVersion != "v1" || tm.Kind != "Pod" {
		return nil, fmt.Errorf("kube: %w: apiVersion %q, kind %q: Load takes a v1 Pod", ErrInvalid, tm.APIVersion, tm.Kind)
	}
	var kp corev1.Pod
	strict, err := kjson.UnmarshalStrict(docs[0], &kp)
	if err != nil {
		return nil, fmt.Errorf("kube: %w: %w", ErrInvalid, err)
	}
	if len(strict) > 0 {
		var pr problems
		for _, e := range strict {
			var fe kjson.FieldError
			if errors.As(e, &fe) {
				// "unknown field \"spec.x\"" becomes "spec.x: unknown field".
				what, _, _ := strings.Cut(e.Error(), ` "`)
				pr.invalidf(fe.FieldPath(), "%s", what)
			} else {
				pr.invalid = append(pr.invalid, e.Error())
			}
		}
		what := "pod"
		if kp.Name != "" {
			what = fmt.Sprintf("pod %q", kp.Name)
		}
		return nil, pr.err(what)
	}
	return &kp, nil
}

// documents splits YAML input into its documents, as JSON, skipping empty
// ones (a leading "---", comments only).
func documents(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("kube: %w: %w", ErrInvalid, err)
		}
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("kube: %w: document %d: %w", ErrInvalid, len(docs)+1, err)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
			continue
		}
		docs = append(docs, j)
	}
}
