package kube

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file checks a decoded JSON document against the Go type it is to be
// decoded into, before decoding it, so that every unknown field and every
// value of the wrong type is reported at once, in YAML's terms and with
// the manifest's path, where encoding/json would stop at the first with Go's
// ("cannot unmarshal number into Go struct field PodSpec.spec.restartPolicy
// of type v1.RestartPolicy"). The checker drops what it reports, so that
// the rest decodes and goes through the semantic checks too.

// checkValue checks v, a value decoded by encoding/json with UseNumber,
// against t, reports each problem, and returns v without the fields and
// values it reported, and whether anything of v is left.
func checkValue(pr *problems, path string, v any, t reflect.Type) (any, bool) {
	if v == nil {
		return nil, true // null is the zero value, as for encoding/json
	}
	if t.Kind() == reflect.Pointer {
		return checkValue(pr, path, v, t.Elem())
	}
	if check, ok := special[t]; ok {
		if msg := check(v); msg != "" {
			typeProblem(pr, path, msg)
			return nil, false
		}
		return v, true
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return mistyped(pr, path, t, v)
		}
		fields := jsonFields(t)
		out := make(map[string]any, len(m))
		for _, k := range keysOf(m) {
			ft, ok := fields[k]
			if !ok {
				pr.push(Problem{Path: field(path, k), Kind: ProblemInvalid, Message: "unknown field" + didYouMean(k, t), typed: true})
				continue
			}
			if cv, ok := checkValue(pr, field(path, k), m[k], ft); ok {
				out[k] = cv
			}
		}
		return out, true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			// []byte is base64 in JSON: a Secret's data.
			s, ok := v.(string)
			if !ok {
				return mistyped(pr, path, t, v)
			}
			if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				typeProblem(pr, path, "must be base64 (use stringData for plain text), got "+describe(v))
				return nil, false
			}
			return v, true
		}
		l, ok := v.([]any)
		if !ok {
			return mistyped(pr, path, t, v)
		}
		out := make([]any, 0, len(l))
		for i, e := range l {
			// A dropped item becomes null, so that the indices of the
			// items after it stay those of the manifest.
			cv, _ := checkValue(pr, fmt.Sprintf("%s[%d]", path, i), e, t.Elem())
			out = append(out, cv)
		}
		return out, true
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return mistyped(pr, path, t, v)
		}
		out := make(map[string]any, len(m))
		for _, k := range keysOf(m) {
			if cv, ok := checkValue(pr, field(path, k), m[k], t.Elem()); ok {
				out[k] = cv
			}
		}
		return out, true
	case reflect.String:
		if _, ok := v.(string); !ok {
			return mistyped(pr, path, t, v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return mistyped(pr, path, t, v)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return mistyped(pr, path, t, v)
		}
		if !fitsInt(n, t) {
			want := "an integer"
			if !strings.ContainsAny(n.String(), ".eE") {
				want = intRange(t) // an integer, too large
			}
			typeProblem(pr, path, "must be "+want+", got "+describe(v))
			return nil, false
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			return mistyped(pr, path, t, v)
		}
	}
	return v, true
}

func typeProblem(pr *problems, path, msg string) {
	pr.push(Problem{Path: path, Message: msg, Kind: ProblemInvalid, typed: true})
}

// mistyped reports v, of the wrong type for t, and drops it.
func mistyped(pr *problems, path string, t reflect.Type, v any) (any, bool) {
	typeProblem(pr, path, "must be "+expected(t)+", got "+describe(v))
	return nil, false
}

// expected says what a value of type t is in YAML.
func expected(t reflect.Type) string {
	if values, ok := enums[t]; ok {
		return orList(values)
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a map (object)"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// describe says what a decoded JSON value is, in YAML's terms.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return "the string " + strconv.Quote(v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return "the boolean " + strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

func orList(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// intRange says which integers fit t.
func intRange(t reflect.Type) string {
	bits := t.Bits()
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("an integer from 0 to %d", uint64(math.MaxUint64)>>(64-bits))
	}
	return fmt.Sprintf("an integer from %d to %d", -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1)
}

func fitsInt(n json.Number, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, err := strconv.ParseUint(n.String(), 10, t.Bits())
		return err == nil
	}
	_, err := strconv.ParseInt(n.String(), 10, t.Bits())
	return err == nil
}

// enums lists the values of the string types whose values are a closed
// set, to say them when a value is not even a string.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[corev1.RestartPolicy]():              {"Always", "OnFailure", "Never"},
	reflect.TypeFor[corev1.ContainerRestartPolicy]():     {"Always", "OnFailure", "Never"},
	reflect.TypeFor[corev1.PullPolicy]():                 {"Always", "IfNotPresent", "Never"},
	reflect.TypeFor[corev1.Protocol]():                   {"TCP", "UDP", "SCTP"},
	reflect.TypeFor[corev1.URIScheme]():                  {"HTTP", "HTTPS"},
	reflect.TypeFor[corev1.StorageMedium]():              {`""`, "Memory", "HugePages"},
	reflect.TypeFor[corev1.ServiceType]():                {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"},
	reflect.TypeFor[corev1.SecretType]():                 {"a string such as Opaque"},
	reflect.TypeFor[appsv1.PodManagementPolicyType]():    {"OrderedReady", "Parallel"},
	reflect.TypeFor[appsv1.DeploymentStrategyType]():     {"RollingUpdate", "Recreate"},
	reflect.TypeFor[batchv1.CompletionMode]():            {"NonIndexed", "Indexed"},
	reflect.TypeFor[batchv1.ConcurrencyPolicy]():         {"Allow", "Forbid", "Replace"},
	reflect.TypeFor[batchv1.PodReplacementPolicy]():      {"TerminatingOrFailed", "Failed"},
	reflect.TypeFor[corev1.TerminationMessagePolicy]():   {"File", "FallbackToLogsOnError"},
	reflect.TypeFor[corev1.PersistentVolumeAccessMode](): {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"},
}

// special checks the types whose JSON form is not that of their Go
// structure, returning what is wrong or "".
var special = map[reflect.Type]func(v any) string{
	reflect.TypeFor[resource.Quantity](): func(v any) string {
		switch v := v.(type) {
		case json.Number:
			if _, err := resource.ParseQuantity(v.String()); err == nil {
				return ""
			}
		case string:
			if _, err := resource.ParseQuantity(v); err == nil {
				return ""
			}
		}
		return "must be a quantity (a number, or a string such as 500m or 1Gi), got " + describe(v)
	},
	reflect.TypeFor[intstr.IntOrString](): func(v any) string {
		switch v := v.(type) {
		case string:
			return ""
		case json.Number:
			if _, err := strconv.ParseInt(v.String(), 10, 32); err == nil {
				return ""
			}
		}
		return "must be an integer or a string, got " + describe(v)
	},
	reflect.TypeFor[metav1.Time]():      timestamp,
	reflect.TypeFor[metav1.MicroTime](): timestamp,
	reflect.TypeFor[metav1.Duration](): func(v any) string {
		if _, ok := v.(string); ok {
			return ""
		}
		return "must be a duration string such as 30s, got " + describe(v)
	},
	reflect.TypeFor[metav1.FieldsV1](): func(any) string { return "" },
}

func timestamp(v any) string {
	s, ok := v.(string)
	if !ok {
		return "must be a timestamp string (RFC 3339), got " + describe(v)
	}
	var t metav1.Time
	q, _ := json.Marshal(s)
	if err := t.UnmarshalJSON(q); err != nil {
		return "must be a timestamp (RFC 3339, such as 2026-01-02T15:04:05Z), got " + describe(v)
	}
	return ""
}

// jsonFields returns the JSON names of a struct's fields, with those of
// its inlined structs, and their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, inline := jsonName(f)
			switch {
			case inline:
				walk(f.Type)
			case name != "-":
				m[name] = f.Type
			}
		}
	}
	walk(t)
	return m
}

// didYouMean suggests the field of t closest to name, when one is close
// enough to be a misspelling: the same in another case, or at most two
// edits away (one for short names).
func didYouMean(name string, t reflect.Type) string {
	best, bestDist := "", math.MaxInt
	for _, known := range keysOf(jsonFields(t)) {
		d := editDistance(strings.ToLower(name), strings.ToLower(known))
		if d < bestDist {
			best, bestDist = known, d
		}
	}
	limit := 2
	if len(name) <= 5 {
		limit = 1
	}
	if best == "" || bestDist > limit {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keysOf returns a map's keys in order, for problems in a stable order.
func keysOf[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
