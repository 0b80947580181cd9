package kube

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	// ConfigMaps are the ConfigMaps the pod's env and volumes may name,
	// by name (those of the same file when loaded with LoadFile). Nil
	// means none.
	ConfigMaps map[string]*corev1.ConfigMap
	// Secrets are the Secrets the pod's env and volumes may name, by name
	// (those of the same file when loaded with LoadFile). Nil means none.
	Secrets map[string]*corev1.Secret
}

// Load is the package's Load with o.
func (o LoadOptions) Load(data []byte) (*Manifest, error) {
	pr := &problems{}
	docs, srcs := splitDocuments(pr, data)
	pr.srcs = srcs
	switch {
	case pr.failed():
		return nil, pr.err("pod")
	case len(docs) == 0:
		return nil, fmt.Errorf("kube: %w: no manifest: the input is empty", ErrInvalid)
	case len(docs) > 1:
		return nil, fmt.Errorf("kube: %w: %d YAML documents: Load takes exactly one Pod (LoadFile reads files of several)", ErrInvalid, len(docs))
	}
	// A kind or apiVersion that is not even a string is reported by
	// decodeDocument, in YAML's terms.
	var tm metav1.TypeMeta
	if err := json.Unmarshal(docs[0], &tm); err == nil && (tm.APIVersion != "v1" || tm.Kind != "Pod") {
		return nil, fmt.Errorf("kube: %w: apiVersion %q, kind %q: Load takes a v1 Pod (LoadFile reads the other kinds)", ErrInvalid, tm.APIVersion, tm.Kind)
	}
	kind, obj := decodeDocument(pr, docs[0])
	kp, _ := obj.(*corev1.Pod)
	if kp == nil {
		if err := pr.err("pod"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("kube: %w: %s: Load takes a v1 Pod (LoadFile reads the other kinds)", ErrInvalid, kind)
	}
	return o.fromPod(pr, kp)
}

// FromPod is the package's FromPod with o.
func (o LoadOptions) FromPod(kp *corev1.Pod) (*Manifest, error) {
	return o.fromPod(&problems{}, kp)
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
	return LoadOptions{}.FromPod(kp)
}

// fromPod maps a Pod, adding its problems to those pr holds already (its
// decoding's).
func (o LoadOptions) fromPod(pr *problems, kp *corev1.Pod) (*Manifest, error) {
	what := fmt.Sprintf("pod %q", kp.Name)
	if kp.Name == "" {
		what = "pod" // validate says the name is required
	}
	if kp.APIVersion != "" && kp.APIVersion != "v1" || kp.Kind != "" && kp.Kind != "Pod" {
		pr.invalidf("apiVersion", "%s, kind %s: want a v1 Pod", kp.APIVersion, kp.Kind)
	}
	m, err := o.mapPod(pr, kp, "")
	if e := pr.err(what); e != nil {
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("kube: %s: %w", what, err)
	}
	return m, nil
}

// mapFilePod maps a pod of a file, as mapPod, reporting the errors of the
// Container hook and of pod.New as problems of the pod's spec.
func (o LoadOptions) mapFilePod(pr *problems, kp *corev1.Pod, base string) *Manifest {
	m, err := o.mapPod(pr, kp, base)
	if err != nil {
		pr.push(Problem{Path: field(base, "spec"), Message: err.Error(), Kind: ProblemInvalid, cause: err})
	}
	return m
}

// mapPod maps the pod kp, at base in its document ("" for a Pod,
// spec.template for a Deployment's template), adding its problems to pr.
// Only when its document has no invalid or unsupported fields are the
// Container hook and pod.New run; their error is returned.
func (o LoadOptions) mapPod(pr *problems, kp *corev1.Pod, base string) (*Manifest, error) {
	first := len(pr.list)
	meta := field(base, "metadata")
	if base == "" {
		pr.others(meta, &kp.ObjectMeta, metadataRules, "name")
		if !isEmptyValue(kp.Status) {
			pr.warnf("status", "ignored: podkit reports the pod's status itself")
		}
	} else {
		// A template's labels are those the selector matches; its name is
		// the workload's.
		pr.others(meta, &kp.ObjectMeta, metadataRules, "name", "labels")
	}
	pr.take(validate(kp, false, base))
	spec := mapPodSpec(pr, field(base, "spec"), &kp.Spec, &sources{meta: &kp.ObjectMeta, spec: &kp.Spec,
		configMaps: o.ConfigMaps, secrets: o.Secrets, node: thisNode()})
	mine := problems{list: pr.list[first:]}
	if pr.docFailed() {
		// Not with a value dropped for its type either: pod.New would
		// complain of what follows from that.
		return nil, nil
	}
	var warnings []string
	if o.Container != nil {
		for _, list := range [][]pod.Container{spec.InitContainers, spec.Containers} {
			for i := range list {
				c, w, err := o.Container(list[i])
				if err != nil {
					return nil, err
				}
				list[i] = c
				warnings = append(warnings, w...)
			}
		}
	}
	if _, err := pod.New(kp.Name, spec); err != nil {
		return nil, fmt.Errorf("podkit rejects the spec: %w", err)
	}
	return &Manifest{Name: kp.Name, Spec: spec, Warnings: append(mine.warnings(), warnings...), Pod: kp}, nil
}
