package kube

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/podkit/podkit/pod"
)

// This file maps what a container's environment and a pod's volumes take
// from elsewhere: ConfigMaps and Secrets (given with the pod, since podkit
// has no API server) and the downward API (the pod's own metadata, its
// resources, and the facts of the running pod, which pod.FieldEnv and
// pod.ProjectedFile.Field carry). A reference the kubelet would fail to
// resolve when it starts the container (CreateContainerConfigError) is
// refused at load, naming the field.

// sources is what a pod's env and volumes take values from.
type sources struct {
	meta       *metav1.ObjectMeta
	spec       *corev1.PodSpec
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	node       node
}

// node is what the downward API says of this machine.
type node struct {
	name string
	// Allocatable resources, which stand for a container's unset limits,
	// as the kubelet's node allocatable does.
	cpuMillis, memory, ephemeral int64
}

// thisNode describes this machine: its host name, CPUs, memory and the
// size of its root filesystem.
func thisNode() node {
	n := node{cpuMillis: int64(runtime.NumCPU()) * 1000}
	n.name, _ = os.Hostname()
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		n.memory = int64(si.Totalram) * int64(si.Unit)
	}
	var st unix.Statfs_t
	if unix.Statfs("/", &st) == nil {
		n.ephemeral = int64(st.Blocks) * st.Bsize
	}
	return n
}

// namespace is the pod's namespace, "default" when unset as an API
// server defaults it.
func (s *sources) namespace() string {
	if s.meta.Namespace == "" {
		return metav1.NamespaceDefault
	}
	return s.meta.Namespace
}

// envEntry is one variable of a container's environment as it is mapped:
// a value, or a fact of the running pod.
type envEntry struct {
	name, value string
	field       pod.PodField
}

// mapEnv maps c's envFrom and env onto pc's Env and FieldEnv, in the
// kubelet's order: envFrom, then env, a later variable replacing an
// earlier one of the same name. Only env values are $(VAR)-expanded, from
// the variables before them; the returned lookup serves command and args.
func (s *sources) mapEnv(pr *problems, path string, c *corev1.Container, pc *pod.Container) func(string) (string, bool) {
	// Entries keep their order and repeats, as Kubernetes passes them; a
	// value after a field of the same name drops the field, which would
	// otherwise win as pod.FieldEnv comes after pod.Env.
	var entries []envEntry
	last := func(name string) (envEntry, bool) {
		for i := len(entries) - 1; i >= 0; i-- {
			if entries[i].name == name {
				return entries[i], true
			}
		}
		return envEntry{}, false
	}
	set := func(e envEntry) {
		if e.field == "" {
			entries = slices.DeleteFunc(entries, func(o envEntry) bool { return o.name == e.name && o.field != "" })
		}
		entries = append(entries, e)
	}
	lookup := func(name string) (string, bool) {
		e, ok := last(name)
		if !ok || e.field != "" {
			return "", false
		}
		return e.value, true
	}
	for i := range c.EnvFrom {
		s.mapEnvFrom(pr, index(path, "envFrom", i), &c.EnvFrom[i], set)
	}
	for i, e := range c.Env {
		p := index(path, "env", i)
		if e.ValueFrom == nil {
			v := expand(e.Value, func(name string) (string, bool) {
				if e, ok := last(name); ok && e.field != "" {
					pr.unsupportedf(field(p, "value"), "$(%s) refers to %s, known only when the pod starts; podkit expands no such reference", name, e.field)
				}
				return lookup(name)
			})
			set(envEntry{name: e.Name, value: v})
			continue
		}
		if e.Value != "" {
			pr.invalidf(field(p, "value"), "must not be set with valueFrom")
		}
		if v, f, ok := s.envValueFrom(pr, field(p, "valueFrom"), c.Name, e.ValueFrom); ok {
			set(envEntry{name: e.Name, value: v, field: f})
		}
	}
	for _, e := range entries {
		if e.field != "" {
			pc.FieldEnv = append(pc.FieldEnv, pod.FieldEnv{Name: e.name, Field: e.field})
		} else {
			pc.Env = append(pc.Env, e.name+"="+e.value)
		}
	}
	return lookup
}

// mapEnvFrom sets the variables of one envFrom source. Keys that are no
// valid variable name are skipped with a warning, as the kubelet skips
// them with an event.
func (s *sources) mapEnvFrom(pr *problems, p string, ef *corev1.EnvFromSource, set func(envEntry)) {
	var data map[string][]byte
	var kind, sub, name string
	var optional *bool
	var ref any
	switch {
	case (ef.ConfigMapRef == nil) == (ef.SecretRef == nil):
		pr.invalidf(p, "exactly one of configMapRef and secretRef must be set")
		return
	case ef.ConfigMapRef != nil:
		kind, sub, name, optional, ref = kindConfigMap, "configMapRef", ef.ConfigMapRef.Name, ef.ConfigMapRef.Optional, ef.ConfigMapRef
	default:
		kind, sub, name, optional, ref = kindSecret, "secretRef", ef.SecretRef.Name, ef.SecretRef.Optional, ef.SecretRef
	}
	data = s.data(kind, name, true)
	pr.others(field(p, sub), ref, nil, "name", "optional")
	if data == nil {
		missing(pr, field(p, sub), kind, name, optional)
		return
	}
	var invalid []string
	for _, k := range sortedMapKeys(data) {
		name := ef.Prefix + k
		if len(validation.IsRelaxedEnvVarName(name)) > 0 {
			invalid = append(invalid, name)
			continue
		}
		if bytes.IndexByte(data[k], 0) >= 0 {
			pr.invalidf(p, "key %q: the value holds a NUL byte, which no environment variable can", k)
			continue
		}
		set(envEntry{name: name, value: string(data[k])})
	}
	if len(invalid) > 0 {
		pr.warnf(p, "skipped keys that are not valid environment variable names, as the kubelet does: %s", strings.Join(invalid, ", "))
	}
}

// envValueFrom resolves one env valueFrom: a value, or a field of the
// running pod; ok is false when there is nothing to set.
func (s *sources) envValueFrom(pr *problems, p, container string, vf *corev1.EnvVarSource) (string, pod.PodField, bool) {
	n := 0
	for _, set := range []bool{vf.FieldRef != nil, vf.ResourceFieldRef != nil, vf.ConfigMapKeyRef != nil, vf.SecretKeyRef != nil, vf.FileKeyRef != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		pr.invalidf(p, "exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef and fileKeyRef must be set")
		return "", "", false
	}
	switch {
	case vf.FieldRef != nil:
		return s.fieldRef(pr, field(p, "fieldRef"), vf.FieldRef, true)
	case vf.ResourceFieldRef != nil:
		v, ok := s.resourceFieldRef(pr, field(p, "resourceFieldRef"), vf.ResourceFieldRef, container)
		return v, "", ok
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		v, ok := keyValue(pr, field(p, "configMapKeyRef"), ref, kindConfigMap, ref.Name, ref.Key, ref.Optional,
			s.data(kindConfigMap, ref.Name, true))
		return v, "", ok
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		v, ok := keyValue(pr, field(p, "secretKeyRef"), ref, kindSecret, ref.Name, ref.Key, ref.Optional,
			s.data(kindSecret, ref.Name, true))
		return v, "", ok
	default:
		pr.unsupportedf(field(p, "fileKeyRef"), "podkit reads no variables from a volume's file")
		return "", "", false
	}
}

// keyValue is the value of key in data, the ConfigMap or Secret that the
// reference ref at p names (nil when there is none); ok is false when there
// is nothing to set.
func keyValue(pr *problems, p string, ref any, kind, name, key string, optional *bool, data map[string][]byte) (string, bool) {
	pr.others(p, ref, nil, "name", "key", "optional")
	if data == nil {
		missing(pr, p, kind, name, optional)
		return "", false
	}
	v, ok := data[key]
	if !ok {
		if optional == nil || !*optional {
			pr.invalidf(p, "%s %q has no key %q (the kubelet would not start the container: CreateContainerConfigError)", kind, name, key)
		}
		return "", false
	}
	if bytes.IndexByte(v, 0) >= 0 {
		pr.invalidf(p, "%s %q, key %q: the value holds a NUL byte, which no environment variable can", kind, name, key)
		return "", false
	}
	return string(v), true
}

// missing reports a ConfigMap or Secret that is not there: nothing for an
// optional reference, an error otherwise.
func missing(pr *problems, p, kind, name string, optional *bool) {
	if optional != nil && *optional {
		return
	}
	pr.invalidf(p, "%s %q not found: give it in the same file, or mark the reference optional (the kubelet would not start the container: CreateContainerConfigError)", kind, name)
}

// fieldRef resolves a downward API field: a value known now, or a field
// of the running pod. inEnv allows the status and spec fields, which a
// volume may not name.
func (s *sources) fieldRef(pr *problems, p string, ref *corev1.ObjectFieldSelector, inEnv bool) (string, pod.PodField, bool) {
	pr.others(p, ref, nil, "apiVersion", "fieldPath")
	if ref.APIVersion != "" && ref.APIVersion != "v1" {
		pr.invalidf(field(p, "apiVersion"), "%q: must be v1", ref.APIVersion)
		return "", "", false
	}
	fp := ref.FieldPath
	if k, ok := subscript(fp, "metadata.labels"); ok {
		return s.meta.Labels[k], "", true
	}
	if k, ok := subscript(fp, "metadata.annotations"); ok {
		return s.meta.Annotations[k], "", true
	}
	switch fp {
	case "metadata.name":
		return "", pod.FieldPodName, true
	case "metadata.namespace":
		return s.namespace(), "", true
	case "metadata.uid":
		if s.meta.UID != "" {
			return string(s.meta.UID), "", true
		}
		return "", pod.FieldPodUID, true
	}
	if !inEnv {
		if fp == "metadata.labels" {
			return formatMap(s.meta.Labels), "", true
		}
		if fp == "metadata.annotations" {
			return formatMap(s.meta.Annotations), "", true
		}
		pr.invalidf(field(p, "fieldPath"), "%q: a downwardAPI volume takes metadata.name, metadata.namespace, metadata.uid, metadata.labels and metadata.annotations", fp)
		return "", "", false
	}
	switch fp {
	case "spec.nodeName":
		return s.node.name, "", true
	case "spec.serviceAccountName":
		return s.spec.ServiceAccountName, "", true
	case "status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs":
		return "", pod.PodField(fp), true
	case "metadata.labels", "metadata.annotations":
		pr.invalidf(field(p, "fieldPath"), "%q: an environment variable takes one key (%s['key']); a downwardAPI volume takes them all", fp, fp)
	default:
		pr.unsupportedf(field(p, "fieldPath"), "%q: podkit's downward API has metadata.name, metadata.namespace, metadata.uid, metadata.labels['key'], metadata.annotations['key'], spec.nodeName, spec.serviceAccountName, status.podIP(s) and status.hostIP(s)", fp)
	}
	return "", "", false
}

// subscript returns k of "prefix['k']".
func subscript(fp, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(fp, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// formatMap is a labels or annotations file of a downwardAPI volume, as
// the kubelet writes it: key="value" lines, sorted, Go-quoted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// resourceFieldRef resolves a container's resource, divided by the
// divisor and rounded up, as the kubelet does; an unset limit is the
// node's allocatable, an unset request the limit the manifest gives (the
// API server's default) or zero.
func (s *sources) resourceFieldRef(pr *problems, p string, ref *corev1.ResourceFieldSelector, container string) (string, bool) {
	pr.others(p, ref, nil, "containerName", "resource", "divisor")
	if ref.ContainerName != "" {
		container = ref.ContainerName
	}
	var c *corev1.Container
	for _, list := range [][]corev1.Container{s.spec.InitContainers, s.spec.Containers} {
		for i := range list {
			if list[i].Name == container {
				c = &list[i]
			}
		}
	}
	if c == nil {
		pr.invalidf(field(p, "containerName"), "%q: no such container in the pod", container)
		return "", false
	}
	kind, res, _ := strings.Cut(ref.Resource, ".")
	name := corev1.ResourceName(res)
	var allocatable int64
	switch name {
	case corev1.ResourceCPU:
		allocatable = s.node.cpuMillis
	case corev1.ResourceMemory:
		allocatable = s.node.memory
	case corev1.ResourceEphemeralStorage:
		allocatable = s.node.ephemeral
	default:
		kind = ""
	}
	var q resource.Quantity
	switch kind {
	case "limits":
		var ok bool
		if q, ok = c.Resources.Limits[name]; !ok {
			q = *resource.NewMilliQuantity(allocatable, resource.DecimalSI)
			if name != corev1.ResourceCPU {
				q = *resource.NewQuantity(allocatable, resource.BinarySI)
			}
		}
	case "requests":
		var ok bool
		if q, ok = c.Resources.Requests[name]; !ok {
			q = c.Resources.Limits[name]
		}
	default:
		pr.unsupportedf(field(p, "resource"), "%q: podkit's downward API has limits and requests of cpu, memory and ephemeral-storage", ref.Resource)
		return "", false
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == corev1.ResourceCPU {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), true
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), true
}

// The kinds of object a pod takes data from.
const (
	kindConfigMap = "ConfigMap"
	kindSecret    = "Secret"
)

// data returns the data of the ConfigMap or Secret (kind) named name, nil
// when there is none. forEnv leaves out a ConfigMap's binaryData, which
// the kubelet does not put in an environment.
func (s *sources) data(kind, name string, forEnv bool) map[string][]byte {
	if kind == kindSecret {
		if sec, ok := s.secrets[name]; ok {
			return secretData(sec)
		}
		return nil
	}
	cm, ok := s.configMaps[name]
	switch {
	case !ok:
		return nil
	case forEnv:
		return configMapEnv(cm)
	}
	return configMapData(cm)
}

// configMapData is a ConfigMap's data and binaryData together.
func configMapData(cm *corev1.ConfigMap) map[string][]byte {
	out := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.BinaryData {
		out[k] = v
	}
	for k, v := range cm.Data {
		out[k] = []byte(v)
	}
	return out
}

// configMapEnv is what a ConfigMap gives an environment: its data, not
// its binaryData, as the kubelet reads it.
func configMapEnv(cm *corev1.ConfigMap) map[string][]byte {
	out := make(map[string][]byte, len(cm.Data))
	for k, v := range cm.Data {
		out[k] = []byte(v)
	}
	return out
}

// secretData is a Secret's data, with its stringData over it as the API
// server merges them.
func secretData(sec *corev1.Secret) map[string][]byte {
	out := make(map[string][]byte, len(sec.Data)+len(sec.StringData))
	for k, v := range sec.Data {
		out[k] = v
	}
	for k, v := range sec.StringData {
		out[k] = []byte(v)
	}
	return out
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mapConfigVolume maps a configMap, secret, downwardAPI or projected
// volume onto a pod.ProjectedVolume; ok is false for another kind.
func (s *sources) mapConfigVolume(pr *problems, path string, v *corev1.Volume) (*pod.ProjectedVolume, bool) {
	var files []pod.ProjectedFile
	var pv pod.ProjectedVolume
	switch {
	case v.ConfigMap != nil:
		cv := v.ConfigMap
		p := field(path, "configMap")
		pr.others(p, cv, nil, "name", "items", "defaultMode", "optional")
		files = s.objectFiles(pr, p, kindConfigMap, cv.Name, cv.Items, mode(cv.DefaultMode, nil), cv.Optional)
	case v.Secret != nil:
		sv := v.Secret
		p := field(path, "secret")
		pr.others(p, sv, nil, "secretName", "items", "defaultMode", "optional")
		pv.Medium = pod.MediumMemory
		files = s.objectFiles(pr, p, kindSecret, sv.SecretName, sv.Items, mode(sv.DefaultMode, nil), sv.Optional)
	case v.DownwardAPI != nil:
		dv := v.DownwardAPI
		p := field(path, "downwardAPI")
		pr.others(p, dv, nil, "items", "defaultMode")
		pv.Medium = pod.MediumMemory
		files = s.downwardFiles(pr, p, dv.Items, mode(dv.DefaultMode, nil))
	case v.Projected != nil:
		prj := v.Projected
		p := field(path, "projected")
		pr.others(p, prj, nil, "sources", "defaultMode")
		pv.Medium = pod.MediumMemory
		def := mode(prj.DefaultMode, nil)
		for i := range prj.Sources {
			src := &prj.Sources[i]
			sp := index(p, "sources", i)
			pr.others(sp, src, map[string]rule{
				"serviceAccountToken": {refuse: "podkit has no API server to issue a service account token"},
				"clusterTrustBundle":  {refuse: "podkit has no API server to take trust bundles from"},
				"podCertificate":      {refuse: "podkit has no API server to issue pod certificates"},
			}, "configMap", "secret", "downwardAPI")
			switch {
			case src.ConfigMap != nil:
				cp := field(sp, "configMap")
				pr.others(cp, src.ConfigMap, nil, "name", "items", "optional")
				files = append(files, s.objectFiles(pr, cp, kindConfigMap, src.ConfigMap.Name, src.ConfigMap.Items, def, src.ConfigMap.Optional)...)
			case src.Secret != nil:
				cp := field(sp, "secret")
				pr.others(cp, src.Secret, nil, "name", "items", "optional")
				files = append(files, s.objectFiles(pr, cp, kindSecret, src.Secret.Name, src.Secret.Items, def, src.Secret.Optional)...)
			case src.DownwardAPI != nil:
				cp := field(sp, "downwardAPI")
				pr.others(cp, src.DownwardAPI, nil, "items")
				files = append(files, s.downwardFiles(pr, cp, src.DownwardAPI.Items, def)...)
			}
		}
		seen := make(map[string]bool)
		for _, f := range files {
			if seen[f.Path] {
				pr.invalidf(field(p, "sources"), "two sources write the path %q", f.Path)
			}
			seen[f.Path] = true
		}
	default:
		return nil, false
	}
	pv.Files = files
	return &pv, true
}

// mode is an item's mode, or else the volume's default mode, or else
// 0644 (reported as zero, pod.DefaultFileMode).
func mode(def, item *int32) os.FileMode {
	m := int32(pod.DefaultFileMode)
	if def != nil {
		m = *def
	}
	if item != nil {
		m = *item
	}
	if os.FileMode(m) == pod.DefaultFileMode {
		return 0
	}
	return os.FileMode(m) // pod.New refuses bits outside 0777
}

// objectFiles are the files of a ConfigMap or Secret: every key, or the
// items.
func (s *sources) objectFiles(pr *problems, p, kind, name string, items []corev1.KeyToPath, def os.FileMode, optional *bool) []pod.ProjectedFile {
	data := s.data(kind, name, false)
	if data == nil {
		missing(pr, p, kind, name, optional)
		return nil
	}
	return keyFiles(pr, p, kind, name, data, items, def, optional)
}

// keyFiles are the files of data: one per key, named after it, or the
// items' keys at their paths. A missing key of an optional source is left
// out, as the kubelet leaves it.
func keyFiles(pr *problems, p, kind, name string, data map[string][]byte, items []corev1.KeyToPath, def os.FileMode, optional *bool) []pod.ProjectedFile {
	var files []pod.ProjectedFile
	if len(items) == 0 {
		for _, k := range sortedMapKeys(data) {
			files = append(files, pod.ProjectedFile{Path: k, Data: data[k], Mode: def})
		}
		return files
	}
	for i, it := range items {
		ip := index(p, "items", i)
		pr.others(ip, &it, nil, "key", "path", "mode")
		v, ok := data[it.Key]
		if !ok {
			if optional == nil || !*optional {
				pr.invalidf(field(ip, "key"), "%s %q has no key %q (the kubelet would not start the pod)", kind, name, it.Key)
			}
			continue
		}
		m := def
		if it.Mode != nil {
			m = mode(nil, it.Mode)
		}
		files = append(files, pod.ProjectedFile{Path: it.Path, Data: v, Mode: m})
	}
	return files
}

// downwardFiles are the files of a downwardAPI volume or source.
func (s *sources) downwardFiles(pr *problems, p string, items []corev1.DownwardAPIVolumeFile, def os.FileMode) []pod.ProjectedFile {
	var files []pod.ProjectedFile
	for i := range items {
		it := &items[i]
		ip := index(p, "items", i)
		pr.others(ip, it, nil, "path", "fieldRef", "resourceFieldRef", "mode")
		f := pod.ProjectedFile{Path: it.Path, Mode: def}
		if it.Mode != nil {
			f.Mode = mode(nil, it.Mode)
		}
		switch {
		case (it.FieldRef == nil) == (it.ResourceFieldRef == nil):
			pr.invalidf(ip, "exactly one of fieldRef and resourceFieldRef must be set")
			continue
		case it.FieldRef != nil:
			v, fld, ok := s.fieldRef(pr, field(ip, "fieldRef"), it.FieldRef, false)
			if !ok {
				continue
			}
			f.Data, f.Field = []byte(v), fld
			if fld != "" {
				f.Data = nil
			}
		default:
			if it.ResourceFieldRef.ContainerName == "" {
				pr.invalidf(field(ip, "resourceFieldRef.containerName"), "required in a volume")
				continue
			}
			v, ok := s.resourceFieldRef(pr, field(ip, "resourceFieldRef"), it.ResourceFieldRef, "")
			if !ok {
				continue
			}
			f.Data = []byte(v)
		}
		files = append(files, f)
	}
	return files
}

// isText reports whether data can be a ConfigMap's data rather than its
// binaryData.
func isText(data []byte) bool { return utf8.Valid(data) }

// ExportConfig returns the ConfigMaps and Secrets that hold the files of
// spec's projected volumes, as Export, ExportDeployment and ExportJob
// name them for the pod name: one per volume with files of data, named
// "<name>-<volume>", a Secret for a Memory volume and a ConfigMap (with
// binaryData for what is not UTF-8) for one on disk. Loading the exported
// pod with them (LoadOptions.ConfigMaps and Secrets) gives the volumes
// back. It only reads spec.
func ExportConfig(name string, spec pod.Spec) ([]*corev1.ConfigMap, []*corev1.Secret) {
	var cms []*corev1.ConfigMap
	var secs []*corev1.Secret
	for _, v := range spec.Volumes {
		prj := v.Projected
		if prj == nil {
			continue
		}
		meta := metav1.ObjectMeta{Name: configName(name, v.Name)}
		keys := configKeys(prj.Files)
		if prj.Medium == pod.MediumMemory {
			sec := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: meta}
			for i, f := range prj.Files {
				if f.Field == "" {
					if sec.Data == nil {
						sec.Data = make(map[string][]byte)
					}
					sec.Data[keys[i]] = f.Data
				}
			}
			if sec.Data != nil {
				secs = append(secs, sec)
			}
			continue
		}
		cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta}
		for i, f := range prj.Files {
			switch {
			case isText(f.Data):
				if cm.Data == nil {
					cm.Data = make(map[string]string)
				}
				cm.Data[keys[i]] = string(f.Data)
			default:
				if cm.BinaryData == nil {
					cm.BinaryData = make(map[string][]byte)
				}
				cm.BinaryData[keys[i]] = f.Data
			}
		}
		cms = append(cms, cm)
	}
	return cms, secs
}

// configName names the ConfigMap or Secret of a pod's volume.
func configName(podName, volume string) string { return podName + "-" + volume }

// configKeys gives each file a key of its ConfigMap or Secret: its path
// with '/' as '_' when that is a valid, unused key, "file-<i>" otherwise.
func configKeys(files []pod.ProjectedFile) []string {
	keys := make([]string, len(files))
	used := make(map[string]bool)
	for i, f := range files {
		k := strings.ReplaceAll(f.Path, "/", "_")
		if len(validation.IsConfigMapKey(k)) > 0 || used[k] {
			k = fmt.Sprintf("file-%d", i)
		}
		used[k] = true
		keys[i] = k
	}
	return keys
}

// exportProjected is a projected volume as Kubernetes has it: a configMap
// volume for one on disk, a projected volume (which the kubelet keeps in
// memory) of secret and downwardAPI sources, in the files' order, for a
// Memory one.
func exportProjected(pr *problems, p, podName string, v pod.Volume) corev1.VolumeSource {
	prj := v.Projected
	name := configName(podName, v.Name)
	keys := configKeys(prj.Files)
	fileMode := func(f pod.ProjectedFile) *int32 {
		if f.Mode == 0 || f.Mode == pod.DefaultFileMode {
			return nil
		}
		return ptr(int32(f.Mode))
	}
	if prj.Medium != pod.MediumMemory {
		cv := &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}
		for i, f := range prj.Files {
			if f.Field != "" {
				pr.unsupportedf(index(p, "projected.files", i), "%s: a volume on disk holds no pod fields in Kubernetes (a downwardAPI volume is in memory): make the volume Memory", f.Field)
				continue
			}
			cv.Items = append(cv.Items, corev1.KeyToPath{Key: keys[i], Path: f.Path, Mode: fileMode(f)})
		}
		return corev1.VolumeSource{ConfigMap: cv}
	}
	pv := &corev1.ProjectedVolumeSource{}
	for i, f := range prj.Files {
		n := len(pv.Sources)
		if f.Field != "" {
			if n == 0 || pv.Sources[n-1].DownwardAPI == nil {
				pv.Sources = append(pv.Sources, corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{}})
				n++
			}
			d := pv.Sources[n-1].DownwardAPI
			d.Items = append(d.Items, corev1.DownwardAPIVolumeFile{Path: f.Path, Mode: fileMode(f),
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: string(f.Field)}})
			continue
		}
		if n == 0 || pv.Sources[n-1].Secret == nil {
			pv.Sources = append(pv.Sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: name}}})
			n++
		}
		sp := pv.Sources[n-1].Secret
		sp.Items = append(sp.Items, corev1.KeyToPath{Key: keys[i], Path: f.Path, Mode: fileMode(f)})
	}
	return corev1.VolumeSource{Projected: pv}
}

// ProjectedFiles returns the files of kp's configMap, secret, downwardAPI
// or projected volume named volume, as o's ConfigMaps and Secrets give
// them now: what pod.Pod.UpdateVolume takes when they change, as the
// kubelet refreshes such a volume. The error names the fields whose
// references no longer resolve, wrapping ErrInvalid, or says that there is
// no such volume. It only reads kp and o.
func (o LoadOptions) ProjectedFiles(kp *corev1.Pod, volume string) ([]pod.ProjectedFile, error) {
	src := &sources{meta: &kp.ObjectMeta, spec: &kp.Spec, configMaps: o.ConfigMaps, secrets: o.Secrets, node: thisNode()}
	for i := range kp.Spec.Volumes {
		v := &kp.Spec.Volumes[i]
		if v.Name != volume {
			continue
		}
		var pr problems
		prj, ok := src.mapConfigVolume(&pr, index("spec", "volumes", i), v)
		if !ok {
			return nil, fmt.Errorf("kube: pod %q: volume %q: not a configMap, secret, downwardAPI or projected volume", kp.Name, volume)
		}
		if err := pr.err(fmt.Sprintf("pod %q", kp.Name)); err != nil {
			return nil, err
		}
		return prj.Files, nil
	}
	return nil, fmt.Errorf("kube: pod %q: no volume %q", kp.Name, volume)
}
