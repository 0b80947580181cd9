package kube

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// File is what LoadFile read: the workloads of a manifest file, mapped, and
// the objects they may refer to, by name.
type File struct {
	// Documents is the number of documents in the file that hold
	// something. Problems' paths have a documents[i] prefix when it is
	// more than one.
	Documents int
	// Workloads are the Pods, Deployments, ReplicaSets, StatefulSets,
	// DaemonSets, Jobs and CronJobs, in the order of the file.
	Workloads []*Workload
	// ConfigMaps, Secrets, PersistentVolumeClaims and Services are the
	// file's objects of those kinds, by metadata.name. A Secret's
	// stringData is merged into its data, as the API server does.
	ConfigMaps             map[string]*corev1.ConfigMap
	Secrets                map[string]*corev1.Secret
	PersistentVolumeClaims map[string]*corev1.PersistentVolumeClaim
	Services               map[string]*corev1.Service
	// Problems are the warnings: fields podkit ignores, and the documents
	// of other kinds, which it skips.
	Problems []Problem
}

// Workload is one object of a file that runs pods.
type Workload struct {
	// Document is the index of the workload's document in the file (of
	// the List holding it, whose problems' paths then say the item).
	Document int
	// Kind is the object's kind: Pod, Deployment, ReplicaSet,
	// StatefulSet, DaemonSet, Job or CronJob.
	Kind string
	// Name is the object's metadata.name.
	Name string
	// Object is the decoded object: a *corev1.Pod, *appsv1.Deployment,
	// *appsv1.ReplicaSet, *appsv1.StatefulSet, *appsv1.DaemonSet,
	// *batchv1.Job or *batchv1.CronJob. LoadFile does not modify it after
	// decoding.
	Object runtime.Object
	// Template is the pod, or the pod template, mapped onto a pod.Spec
	// as Load maps a Pod; its Name is the workload's and its Pod the
	// template as a Pod of that name. Its Warnings have the template's
	// paths (spec.template.spec.nodeSelector: ...).
	Template *Manifest
	// Replicas is the number of pods the workload keeps running: 1 for a
	// Pod and a DaemonSet (this machine is its one node), spec.replicas
	// for the others (1 when unset), 0 for a Job and a CronJob, whose pods
	// Job says.
	Replicas int32
	// Job holds the parameters of a Job, and of a CronJob's job template.
	Job *JobParams
	// StatefulSet holds the parameters of a StatefulSet.
	StatefulSet *StatefulSetParams
	// CronJob holds the parameters of a CronJob.
	CronJob *CronJobParams
}

// docKinds are the kinds LoadFile reads, with their apiVersion and Go type.
var docKinds = map[string]struct {
	apiVersion string
	typ        reflect.Type
}{
	"Pod":                   {"v1", reflect.TypeFor[corev1.Pod]()},
	"ConfigMap":             {"v1", reflect.TypeFor[corev1.ConfigMap]()},
	"Secret":                {"v1", reflect.TypeFor[corev1.Secret]()},
	"PersistentVolumeClaim": {"v1", reflect.TypeFor[corev1.PersistentVolumeClaim]()},
	"Service":               {"v1", reflect.TypeFor[corev1.Service]()},
	"Deployment":            {"apps/v1", reflect.TypeFor[appsv1.Deployment]()},
	"ReplicaSet":            {"apps/v1", reflect.TypeFor[appsv1.ReplicaSet]()},
	"StatefulSet":           {"apps/v1", reflect.TypeFor[appsv1.StatefulSet]()},
	"DaemonSet":             {"apps/v1", reflect.TypeFor[appsv1.DaemonSet]()},
	"Job":                   {"batch/v1", reflect.TypeFor[batchv1.Job]()},
	"CronJob":               {"batch/v1", reflect.TypeFor[batchv1.CronJob]()},
}

// LoadFile reads a manifest file of one or more YAML documents (or one
// JSON object), as kubectl apply -f and podman kube play take them: Pods,
// apps/v1 Deployments, ReplicaSets, StatefulSets and DaemonSets, batch/v1
// Jobs and CronJobs, and v1 ConfigMaps, Secrets, PersistentVolumeClaims and
// Services, in any order; a document may be a v1 List of them (as kubectl
// get -o yaml writes), whose objects' paths start with items[i]. Each
// workload's pod template is mapped as Load maps a Pod, with opts, whose
// ConfigMaps and Secrets are completed with the file's (the file's win on
// a name in both). Objects of other kinds are skipped, all named in one
// warning.
//
// LoadFile checks the whole file in one pass and reports every problem at
// once: YAML syntax errors and duplicate keys (with their line), unknown
// fields (with the known field a misspelling is closest to), values of the
// wrong type, fields podkit cannot honour, and the rules of Kubernetes'
// validation, each at its path in the manifest, prefixed with
// documents[i] when the file has several documents. A broken document does
// not stop the others from being checked. When any problem is invalid or
// unsupported, the error is an *Error listing them all, warnings
// included, and wrapping ErrInvalid, ErrUnsupported or both; otherwise the
// File's Problems hold the warnings.
//
// LoadFile does not modify data or opts' maps; it is safe to call
// concurrently, and it runs nothing.
func LoadFile(data []byte, opts LoadOptions) (*File, error) {
	pr := &problems{}
	docs, srcs := splitDocuments(pr, data)
	f := &File{
		Documents:              len(docs),
		ConfigMaps:             make(map[string]*corev1.ConfigMap),
		Secrets:                make(map[string]*corev1.Secret),
		PersistentVolumeClaims: make(map[string]*corev1.PersistentVolumeClaim),
		Services:               make(map[string]*corev1.Service),
	}
	if len(docs) == 0 && !pr.failed() {
		pr.invalidf("", "no manifest: the input is empty")
	}
	var skipped []string
	skippedFirst := 0
	var objects []object
	for i, d := range docs {
		pr.doc = i
		if d == nil {
			continue // a syntax error, reported
		}
		for _, o := range decodeObjects(pr, d) {
			if o.obj == nil {
				if skipped == nil {
					skippedFirst = i
				}
				skipped = append(skipped, fmt.Sprintf("%s (%s)", o.kind, under(fmt.Sprintf("documents[%d]", i), o.item)))
				continue
			}
			o.doc = i
			objects = append(objects, o)
			pr.item = o.item
			f.collect(pr, o.obj)
			pr.item = ""
		}
	}
	if len(skipped) > 0 {
		pr.list = append(pr.list, Problem{Document: skippedFirst, Kind: ProblemWarning, whole: true,
			Message: "skipped, podkit does not run these kinds: " + strings.Join(skipped, ", ")})
	}
	opts.ConfigMaps = merged(opts.ConfigMaps, f.ConfigMaps)
	opts.Secrets = merged(opts.Secrets, f.Secrets)
	named := make(map[string]bool) // kind and name of each workload
	for _, o := range objects {
		pr.doc, pr.item = o.doc, o.item
		if w := opts.workload(pr, o.obj); w != nil {
			w.Document = o.doc
			if named[w.String()] {
				// kubectl apply would replace the first with the second.
				pr.invalidf("metadata.name", "%q: another %s of the file has that name", w.Name, w.Kind)
			}
			named[w.String()] = true
			f.Workloads = append(f.Workloads, w)
		}
	}
	pr.item = ""
	locate(pr.list, srcs)
	if len(docs) > 1 {
		for i := range pr.list {
			p := &pr.list[i]
			if p.whole {
				continue
			}
			prefix := fmt.Sprintf("documents[%d]", p.Document)
			p.Path = under(prefix, p.Path)
			if p.from != "" {
				p.from = under(prefix, p.from)
			}
		}
	}
	// Document by document, the problems of the whole file last.
	slices.SortStableFunc(pr.list, func(a, b Problem) int {
		return cmp.Or(cmpBool(a.whole, b.whole), cmp.Compare(a.Document, b.Document))
	})
	if err := pr.err(""); err != nil {
		return nil, err
	}
	f.Problems = pr.tidy()
	return f, nil
}

// merged returns a map of both maps' entries, b's winning.
func merged[V any](a, b map[string]V) map[string]V {
	out := make(map[string]V, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// separator matches a line that starts a YAML document: "---", maybe with
// a comment after it.
var separator = regexp.MustCompile(`^---\s*(#.*)?$`)

// splitDocuments splits data into its YAML documents and converts each to
// JSON, skipping the empty ones (comments only, a leading ---). A document
// that is not YAML is reported, with its line in the file, and is nil. The
// sources are the documents' text, for locate.
func splitDocuments(pr *problems, data []byte) ([][]byte, []source) {
	var docs [][]byte
	var srcs []source
	var cur bytes.Buffer
	start := 1 // the line cur starts at
	flush := func() {
		defer cur.Reset()
		if len(bytes.TrimSpace(cur.Bytes())) == 0 {
			return
		}
		pr.doc = len(docs)
		j, err := yaml.YAMLToJSONStrict(cur.Bytes())
		if err != nil {
			var lax error
			j, lax = yaml.YAMLToJSON(cur.Bytes())
			if lax != nil {
				j = nil
			}
			yamlProblems(pr, err, start)
		}
		if j != nil {
			if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
				return
			}
		}
		docs = append(docs, j)
		srcs = append(srcs, source{text: bytes.Clone(cur.Bytes()), start: start})
	}
	line := 0
	for rest := data; len(rest) > 0; {
		line++
		l, tail, _ := bytes.Cut(rest, []byte("\n"))
		rest = tail
		if separator.Match(bytes.TrimRight(l, "\r")) {
			flush()
			start = line + 1
			continue
		}
		cur.Write(l)
		cur.WriteByte('\n')
	}
	flush()
	return docs, srcs
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// yamlProblems reports the errors of the YAML parser, one per line it
// names, with lines counted in the file, not the document.
func yamlProblems(pr *problems, err error, start int) {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	parts := []string{msg}
	if rest, ok := strings.CutPrefix(msg, "unmarshal errors:\n"); ok {
		parts = strings.Split(rest, "\n")
	}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p := Problem{Document: pr.doc, Kind: ProblemInvalid, Message: "yaml: " + part}
		if m := yamlLine.FindStringSubmatch(part); m != nil {
			n, _ := strconv.Atoi(m[1])
			p.Line = start + n - 1
			p.Message = fmt.Sprintf("yaml: line %d: %s", p.Line, part[len(m[0]):])
		}
		pr.list = append(pr.list, p)
	}
}

// object is one object of a file: a document, or an item of a List.
type object struct {
	doc  int
	item string // items[i] in a List, or ""
	// kind names an object of a kind LoadFile skips (Ingress "web"),
	// whose obj is nil.
	kind string
	obj  any
}

// decodeObjects decodes a document: one object, or the items of a v1 List
// (as kubectl get -o yaml writes), each at its path items[i].
func decodeObjects(pr *problems, j []byte) []object {
	m := decodeRaw(pr, j)
	if m == nil {
		return nil
	}
	if m["kind"] != "List" {
		kind, obj := decodeObject(pr, m)
		if kind == "" {
			return nil
		}
		return []object{{kind: kind, obj: obj}}
	}
	if m["apiVersion"] != "v1" {
		pr.invalidf("apiVersion", "must be v1 for a List, got %s", describe(m["apiVersion"]))
	}
	for _, k := range keysOf(m) {
		if k != "apiVersion" && k != "kind" && k != "items" && k != "metadata" {
			pr.invalidf(k, "unknown field")
		}
	}
	items, ok := m["items"].([]any)
	if !ok && m["items"] != nil {
		pr.invalidf("items", "must be a list, got %s", describe(m["items"]))
	}
	var out []object
	for i, it := range items {
		pr.item = fmt.Sprintf("items[%d]", i)
		if im, ok := it.(map[string]any); !ok {
			pr.invalidf("", "must be a Kubernetes object (a map with apiVersion and kind), got %s", describe(it))
		} else if im["kind"] == "List" {
			pr.invalidf("kind", "a List within a List")
		} else if kind, obj := decodeObject(pr, im); kind != "" {
			out = append(out, object{item: pr.item, kind: kind, obj: obj})
		}
	}
	pr.item = ""
	return out
}

// decodeDocument decodes a document of one object, as decodeObject.
func decodeDocument(pr *problems, j []byte) (string, any) {
	m := decodeRaw(pr, j)
	if m == nil {
		return "", nil
	}
	return decodeObject(pr, m)
}

// decodeRaw decodes a document's JSON, keeping numbers as they are
// written, and returns it when it is a map.
func decodeRaw(pr *problems, j []byte) map[string]any {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		pr.invalidf("", "not a Kubernetes object: %v", err)
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		pr.invalidf("", "must be a Kubernetes object (a map with apiVersion and kind), got %s", describe(raw))
		return nil
	}
	return m
}

// decodeObject decodes one object, reporting every problem of its
// structure. It returns the object's kind, and the object, or nil when the
// kind is not one LoadFile reads (the kind is then its name, such as
// Ingress "web"), or when it is no object of any kind (the kind is then
// empty).
func decodeObject(pr *problems, m map[string]any) (string, any) {
	apiVersion, _ := m["apiVersion"].(string)
	kind, ok := m["kind"].(string)
	switch {
	case !ok && m["kind"] != nil:
		pr.invalidf("kind", "must be a string, got %s", describe(m["kind"]))
		return "", nil
	case kind == "":
		pr.invalidf("kind", "required: the kind of object, such as Pod or Deployment")
		return "", nil
	}
	k, ok := docKinds[kind]
	if !ok {
		meta, _ := m["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		return fmt.Sprintf("%s %q", kind, name), nil
	}
	if apiVersion != k.apiVersion {
		pr.invalidf("apiVersion", "must be %s for a %s, got %s", k.apiVersion, kind, describe(m["apiVersion"]))
	}
	clean, _ := checkValue(pr, "", m, k.typ)
	obj := reflect.New(k.typ).Interface()
	b, err := json.Marshal(clean)
	if err == nil {
		err = json.Unmarshal(b, obj)
	}
	if err != nil {
		// checkValue lets through only what decodes, so this is a case
		// it misses: reported rather than hidden.
		pr.invalidf("", "cannot decode the %s: %v", kind, err)
		return "", nil
	}
	return kind, obj
}

// collect keeps the ConfigMaps, Secrets, PVCs and Services of the file,
// checking their names.
func (f *File) collect(pr *problems, obj any) {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		if f.checkName(pr, "ConfigMap", o.Name, f.ConfigMaps[o.Name] != nil) {
			f.ConfigMaps[o.Name] = o
		}
		for _, k := range keysOf(o.Data) {
			configKey(pr, field("data", k), k)
			if _, ok := o.BinaryData[k]; ok {
				pr.invalidf(field("binaryData", k), "the key is in data too")
			}
		}
		for _, k := range keysOf(o.BinaryData) {
			configKey(pr, field("binaryData", k), k)
		}
	case *corev1.Secret:
		if f.checkName(pr, "Secret", o.Name, f.Secrets[o.Name] != nil) {
			f.Secrets[o.Name] = secretMerged(o)
		}
		for _, k := range keysOf(o.Data) {
			configKey(pr, field("data", k), k)
		}
		for _, k := range keysOf(o.StringData) {
			configKey(pr, field("stringData", k), k)
		}
	case *corev1.PersistentVolumeClaim:
		if f.checkName(pr, "PersistentVolumeClaim", o.Name, f.PersistentVolumeClaims[o.Name] != nil) {
			f.PersistentVolumeClaims[o.Name] = o
		}
	case *corev1.Service:
		if f.checkName(pr, "Service", o.Name, f.Services[o.Name] != nil) {
			f.Services[o.Name] = o
		}
	}
}

// checkName checks an object's name, and that it is the only one of its
// kind so named; it reports whether the object is to be kept.
func (f *File) checkName(pr *problems, kind, name string, taken bool) bool {
	v := validator{}
	v.dnsSubdomain("metadata.name", name)
	pr.take(v.errs)
	if taken {
		pr.invalidf("metadata.name", "%q: another %s of the file has that name", name, kind)
		return false
	}
	return len(v.errs) == 0
}

// secretMerged returns a copy of s with its stringData merged into its
// data, as the API server stores it (stringData wins).
func secretMerged(s *corev1.Secret) *corev1.Secret {
	c := s.DeepCopy()
	if len(c.StringData) > 0 && c.Data == nil {
		c.Data = make(map[string][]byte, len(c.StringData))
	}
	for k, v := range c.StringData {
		c.Data[k] = []byte(v)
	}
	c.StringData = nil
	return c
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
