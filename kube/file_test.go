package kube_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func loadFile(t *testing.T, file string) *kube.File {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	f, err := kube.LoadFile(data, kube.LoadOptions{})
	require.NoError(t, err)
	return f
}

// problemsOf returns the problems of a failed LoadFile, as strings.
func problemsOf(t *testing.T, data string) []string {
	t.Helper()
	_, err := kube.LoadFile([]byte(data), kube.LoadOptions{})
	require.Error(t, err)
	var kerr *kube.Error
	require.ErrorAs(t, err, &kerr)
	var out []string
	for _, p := range kerr.Problems {
		out = append(out, p.String())
	}
	return out
}

func TestLoadFileDeploymentWithConfigMapSecretService(t *testing.T) {
	f := loadFile(t, "testdata/files/web.yaml")
	require.Equal(t, 4, f.Documents)
	require.Len(t, f.Workloads, 1)
	w := f.Workloads[0]
	assert.Equal(t, "Deployment", w.Kind)
	assert.Equal(t, "web", w.Name)
	assert.Equal(t, 2, w.Document)
	assert.Equal(t, int32(1), w.Replicas)
	assert.Equal(t, `Deployment "web"`, w.String())
	require.IsType(t, &appsv1.Deployment{}, w.Object)
	assert.Equal(t, "web", w.Template.Name)
	assert.Equal(t, "web", w.Template.Pod.Name)
	assert.Equal(t, map[string]string{"app": "web", "tier": "frontend"}, w.Template.Pod.Labels)
	require.Len(t, w.Template.Spec.Containers, 1)
	c := w.Template.Spec.Containers[0]
	assert.Equal(t, "nginx:1.27", c.Image)
	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, 8080, c.ReadinessProbe.HTTPGet.Port, "the named port resolves")
	assert.Equal(t, []string{
		"spec.template.spec.containers[0].ports: informational: a pod's ports are reachable on its loopback only (named ports serve its probes and hooks)",
	}, w.Template.Warnings, "the template's warnings have the template's paths")

	require.Contains(t, f.ConfigMaps, "web-config")
	assert.Equal(t, "info", f.ConfigMaps["web-config"].Data["LOG_LEVEL"])
	require.Contains(t, f.Secrets, "web-credentials")
	s := f.Secrets["web-credentials"]
	assert.Equal(t, map[string][]byte{"username": []byte("admin"), "password": []byte("s3cret")}, s.Data,
		"stringData is merged into data, base64 data decoded")
	assert.Nil(t, s.StringData)
	require.Contains(t, f.Services, "web")
	assert.Empty(t, f.PersistentVolumeClaims)

	var warnings []string
	for _, p := range f.Problems {
		assert.Equal(t, kube.ProblemWarning, p.Kind)
		warnings = append(warnings, p.String())
	}
	assert.Equal(t, []string{
		"documents[2].metadata.labels: ignored: podkit keeps no object metadata",
		"documents[2].spec.template.spec.containers[0].ports: informational: a pod's ports are reachable on its loopback only (named ports serve its probes and hooks)",
		"documents[2].spec.revisionHistoryLimit: ignored: podkit keeps no old revisions",
	}, warnings)
}

func TestLoadFileJob(t *testing.T) {
	f := loadFile(t, "testdata/files/job.yaml")
	require.Equal(t, 1, f.Documents)
	require.Len(t, f.Workloads, 1)
	w := f.Workloads[0]
	assert.Equal(t, "Job", w.Kind)
	assert.Equal(t, int32(0), w.Replicas)
	require.IsType(t, &batchv1.Job{}, w.Object)
	assert.Equal(t, &kube.JobParams{
		Completions:      ptr(int32(1)),
		Parallelism:      1,
		BackoffLimit:     2,
		ActiveDeadline:   10 * time.Minute,
		TTLAfterFinished: ptr(time.Hour),
		CompletionMode:   batchv1.NonIndexedCompletion,
	}, w.Job)
	assert.Equal(t, pod.RestartNever, w.Template.Spec.RestartPolicy)
	assert.Equal(t, []string{"sh", "-c", "echo done"}, w.Template.Spec.Containers[0].Command)
	assert.Empty(t, f.Problems)
}

func TestLoadFileJobDefaults(t *testing.T) {
	const job = `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
%s  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: c, image: busybox}]
`
	for _, tt := range []struct {
		name, spec string
		want       kube.JobParams
	}{
		{"none", "", kube.JobParams{Completions: ptr(int32(1)), Parallelism: 1, BackoffLimit: 6, CompletionMode: batchv1.NonIndexedCompletion}},
		{"work queue", "  parallelism: 3\n", kube.JobParams{Parallelism: 3, BackoffLimit: 6, CompletionMode: batchv1.NonIndexedCompletion}},
		{"fixed count", "  completions: 5\n  completionMode: NonIndexed\n", kube.JobParams{Completions: ptr(int32(5)), Parallelism: 1, BackoffLimit: 6, CompletionMode: batchv1.NonIndexedCompletion}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := kube.LoadFile([]byte(strings.Replace(job, "%s", tt.spec, 1)), kube.LoadOptions{})
			require.NoError(t, err)
			assert.Equal(t, &tt.want, f.Workloads[0].Job)
		})
	}
}

func TestLoadFileStatefulSet(t *testing.T) {
	f := loadFile(t, "testdata/files/statefulset.yaml")
	require.Len(t, f.Workloads, 1)
	w := f.Workloads[0]
	assert.Equal(t, "StatefulSet", w.Kind)
	assert.Equal(t, 1, w.Document)
	assert.Equal(t, int32(3), w.Replicas)
	assert.Equal(t, &kube.StatefulSetParams{PodManagementPolicy: appsv1.ParallelPodManagement, ServiceName: "db", OrdinalStart: 1}, w.StatefulSet)
	assert.Equal(t, []string{"PGDATA=/var/lib/postgresql/data/pgdata"}, w.Template.Spec.Containers[0].Env)
	assert.Contains(t, f.Services, "db")
}

func TestLoadFileCronJob(t *testing.T) {
	f := loadFile(t, "testdata/files/cronjob.yaml")
	require.Len(t, f.Workloads, 1)
	w := f.Workloads[0]
	assert.Equal(t, "CronJob", w.Kind)
	require.IsType(t, &batchv1.CronJob{}, w.Object)
	require.NotNil(t, w.CronJob)
	assert.Equal(t, "30 2 * * *", w.CronJob.Schedule)
	assert.Equal(t, "Etc/UTC", w.CronJob.Location.String())
	assert.Equal(t, batchv1.ForbidConcurrent, w.CronJob.ConcurrencyPolicy)
	assert.Equal(t, int32(5), w.CronJob.SuccessfulJobsHistoryLimit)
	assert.Equal(t, int32(1), w.CronJob.FailedJobsHistoryLimit)
	assert.Equal(t, int32(1), w.Job.BackoffLimit)
	assert.Equal(t, pod.RestartOnFailure, w.Template.Spec.RestartPolicy)
	assert.Equal(t, "backup", w.Template.Name)
}

func TestLoadFileSkipsOtherKinds(t *testing.T) {
	f := loadFile(t, "testdata/files/ingress.yaml")
	require.Len(t, f.Workloads, 1)
	assert.Equal(t, "Pod", f.Workloads[0].Kind)
	require.Len(t, f.Problems, 1, "one warning lists every skipped document")
	p := f.Problems[0]
	assert.Equal(t, kube.ProblemWarning, p.Kind)
	assert.Equal(t, "", p.Path)
	assert.Equal(t, `skipped, podkit does not run these kinds: Ingress "hello" (documents[1]), PodDisruptionBudget "hello" (documents[2])`, p.Message)
}

// Every problem of every document is reported at once, each at its path,
// in YAML's words.
func TestLoadFileReportsEverythingAtOnce(t *testing.T) {
	data, err := os.ReadFile("testdata/files/broken.yaml")
	require.NoError(t, err)
	_, err = kube.LoadFile(data, kube.LoadOptions{})
	require.ErrorIs(t, err, kube.ErrInvalid)
	require.ErrorIs(t, err, kube.ErrUnsupported)
	var kerr *kube.Error
	require.ErrorAs(t, err, &kerr)
	type problem struct {
		doc       int
		path, msg string
		kind      kube.ProblemKind
	}
	var got []problem
	for _, p := range kerr.Problems {
		got = append(got, problem{p.Document, p.Path, p.Message, p.Kind})
	}
	const inv, uns, warn = kube.ProblemInvalid, kube.ProblemUnsupported, kube.ProblemWarning
	assert.ElementsMatch(t, []problem{
		{1, "documents[1].spec.replicas", `must be an integer, got the string "2"`, inv},
		{1, "documents[1].spec.template.spec.containers[0].imagePullPolice", "unknown field; did you mean imagePullPolicy?", inv},
		{1, "documents[1].spec.template.spec.restartPolicy", "must be Always, OnFailure or Never, got the number 5", inv},
		{1, "documents[1].spec.template.metadata.labels", "must match spec.selector (app=api)", inv},
		{1, "documents[1].spec.template.spec.containers[0].volumeMounts[0].name", `"cache": no volume of that name in the pod`, inv},
		{1, "documents[1].spec.template.spec.containers[1].command", "required: the container has no image to take a default command from; did you mean command? (args are given to a command)", uns},
		{2, "documents[2].spec.template.spec.hostPID", `must be a boolean (true or false), got the string "true"`, inv},
		{2, "documents[2].spec.template.spec.restartPolicy", "required: a Job's pods must have restartPolicy OnFailure or Never", inv},
		{2, "documents[2].spec.template.spec.containers[0].ports[0].containerPort", "70000: must be a port number (1-65535)", inv},
		{2, "documents[2].spec.template.spec.containers[0].ports", "informational: a pod's ports are reachable on its loopback only (named ports serve its probes and hooks)", warn},
		{2, "documents[2].spec.podFailurePolicy", "podkit does not apply pod failure policies yet: every failed pod counts towards backoffLimit", uns},
		{2, "documents[2].spec.completionMode", "Indexed: podkit does not give pods completion indices yet", uns},
	}, got)
	assert.True(t, strings.HasPrefix(err.Error(), "kube: invalid manifest: documents[1].spec.replicas: "), err.Error())
	assert.NotContains(t, err.Error(), "informational", "warnings are not errors")
}

func TestLoadFileProblems(t *testing.T) {
	const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: busybox}]
`
	const job = `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
`
	for _, tt := range []struct {
		name, data string
		want       []string // each is one of the problems
	}{
		{"wrong apiVersion", strings.Replace(deployment, "apps/v1", "extensions/v1beta1", 1),
			[]string{`apiVersion: must be apps/v1 for a Deployment, got the string "extensions/v1beta1"`}},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", []string{"kind: required: the kind of object, such as Pod or Deployment"}},
		{"not an object", "- a\n- b\n", []string{"must be a Kubernetes object (a map with apiVersion and kind), got a list"}},
		{"empty", "# nothing\n---\n", []string{"no manifest: the input is empty"}},
		{"no selector", strings.Replace(deployment, "  selector: {matchLabels: {app: web}}\n", "", 1),
			[]string{"spec.selector: required: the labels of the pods, such as matchLabels: {app: web}"}},
		{"deployment restart policy", strings.Replace(deployment, "    spec:\n", "    spec:\n      restartPolicy: Never\n      activeDeadlineSeconds: 5\n", 1),
			[]string{`spec.template.spec.restartPolicy: "Never": a Deployment's pods must have restartPolicy Always`}},
		{"deployment deadline", strings.Replace(deployment, "    spec:\n", "    spec:\n      activeDeadlineSeconds: 5\n", 1),
			[]string{"spec.template.spec.activeDeadlineSeconds: a Deployment's pods may not have one"}},
		{"negative replicas", strings.Replace(deployment, "spec:\n", "spec:\n  replicas: -1\n", 1), []string{"spec.replicas: -1: must not be negative"}},
		{"paused", strings.Replace(deployment, "spec:\n", "spec:\n  paused: true\n", 1), []string{"spec.paused: podkit has no rollouts to pause"}},
		{"volume claim templates", strings.Replace(strings.Replace(deployment, "Deployment", "StatefulSet", 1), "spec:\n", "spec:\n  volumeClaimTemplates: [{metadata: {name: data}}]\n", 1),
			[]string{"spec.volumeClaimTemplates: podkit does not provide persistent volumes yet: use an emptyDir or a hostPath volume"}},
		{"pod management policy", strings.Replace(strings.Replace(deployment, "Deployment", "StatefulSet", 1), "spec:\n", "spec:\n  podManagementPolicy: Random\n", 1),
			[]string{`spec.podManagementPolicy: "Random": must be OrderedReady or Parallel`}},
		{"job restart policy", strings.Replace(job, "Never", "Always", 1),
			[]string{`spec.template.spec.restartPolicy: "Always": a Job's pods must have restartPolicy OnFailure or Never`}},
		{"backoff limit per index", strings.Replace(job, "spec:\n", "spec:\n  backoffLimitPerIndex: 1\n  maxFailedIndexes: 2\n", 1),
			[]string{"spec.backoffLimitPerIndex: podkit runs no Indexed Jobs yet", "spec.maxFailedIndexes: podkit runs no Indexed Jobs yet"}},
		{"success policy", strings.Replace(job, "spec:\n", "spec:\n  successPolicy: {rules: [{succeededCount: 1}]}\n", 1),
			[]string{"spec.successPolicy: podkit does not apply success policies yet: the Job succeeds when its completions succeed"}},
		{"suspended", strings.Replace(job, "spec:\n", "spec:\n  suspend: true\n", 1),
			[]string{"spec.suspend: true: podkit starts a Job's pods at once; a suspended Job would never run"}},
		{"job counts", strings.Replace(job, "spec:\n", "spec:\n  completions: -1\n  backoffLimit: -2\n  activeDeadlineSeconds: 0\n  completionMode: Sometimes\n", 1),
			[]string{"spec.completions: -1: must not be negative", "spec.backoffLimit: -2: must not be negative",
				"spec.activeDeadlineSeconds: 0 is out of range (1 to 3153600000 seconds)", `spec.completionMode: "Sometimes": must be NonIndexed or Indexed`}},
		{"cron schedule", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: \"61 * * * *\"\n  timeZone: Mars/Olympus\n  concurrencyPolicy: Sometimes\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox}]\n",
			[]string{`spec.schedule: "61 * * * *": end of range (61) above maximum (59): 61`,
				`spec.timeZone: "Mars/Olympus": not a time zone of the tz database (such as Europe/Paris or Etc/UTC)`,
				`spec.concurrencyPolicy: "Sometimes": must be Allow, Forbid or Replace`}},
		{"cron without schedule", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox}]\n",
			[]string{`spec.schedule: required: a cron schedule such as "*/5 * * * *"`}},
		{"syntax error", deployment + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
			[]string{"documents[1]: yaml: line 13: did not find expected ',' or '}'"}},
		{"duplicate key", deployment + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nmetadata: {name: z}\n",
			[]string{`documents[1]: yaml: line 14: key "metadata" already set in map`}},
		{"duplicate config map", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
			[]string{`documents[1].metadata.name: "x": another ConfigMap of the file has that name`}},
		{"duplicate deployment", deployment + "---\n" + deployment,
			[]string{`documents[1].metadata.name: "web": another Deployment of the file has that name`}},
		{"secret data", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {token: not base64!, \"bad key\": YQ==}\n",
			[]string{`data.token: must be base64 (use stringData for plain text), got the string "not base64!"`,
				`data.bad key: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		{"misspelt far from anything", strings.Replace(deployment, "spec:\n", "spec:\n  flavour: large\n", 1), []string{"spec.flavour: unknown field"}},
		{"list given as a string", strings.Replace(deployment, "containers: [{name: c, image: busybox}]", "containers: busybox", 1),
			[]string{"spec.template.spec.containers: must be a list, got the string \"busybox\""}},
		{"integer out of range", strings.Replace(deployment, "spec:\n", "spec:\n  replicas: 3000000000\n", 1),
			[]string{"spec.replicas: must be an integer from -2147483648 to 2147483647, got the number 3000000000"}},
		{"quantity", strings.Replace(deployment, "image: busybox}", "image: busybox, resources: {limits: {memory: lots}}}", 1),
			[]string{`spec.template.spec.containers[0].resources.limits.memory: must be a quantity (a number, or a string such as 500m or 1Gi), got the string "lots"`}},
		{"port", strings.Replace(deployment, "image: busybox}", "image: busybox, livenessProbe: {tcpSocket: {port: [80]}}}", 1),
			[]string{"spec.template.spec.containers[0].livenessProbe.tcpSocket.port: must be an integer or a string, got a list"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := problemsOf(t, tt.data)
			for _, w := range tt.want {
				assert.Contains(t, got, w)
			}
		})
	}
}

// A value of the wrong type is reported once: not again as the empty value
// it decodes to.
func TestLoadFileTypeErrorHidesItsConsequences(t *testing.T) {
	got := problemsOf(t, string(manifest("  containers: busybox\n")))
	assert.Equal(t, []string{`spec.containers: must be a list, got the string "busybox"`}, got)
	// Nor as the missing image it leaves: the container has no command
	// either, but that follows.
	got = problemsOf(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"+string(manifest("  containers: [{name: c, image: 5}]\n")))
	assert.Equal(t, []string{"documents[1].spec.containers[0].image: must be a string, got the number 5"}, got)
}

func TestLoadFileWrongCaseSuggestsField(t *testing.T) {
	got := problemsOf(t, string(manifest("  containers:\n  - name: c\n    Command: [\"true\"]\n")))
	assert.Contains(t, got, "spec.containers[0].Command: unknown field; did you mean command?")
}

// Load takes one Pod, and says where to go for more.
func TestLoadPointsToLoadFile(t *testing.T) {
	data, err := os.ReadFile("testdata/files/web.yaml")
	require.NoError(t, err)
	_, err = kube.Load(data)
	require.ErrorIs(t, err, kube.ErrInvalid)
	require.ErrorContains(t, err, "4 YAML documents: Load takes exactly one Pod (LoadFile reads files of several)")
	data, err = os.ReadFile("testdata/files/job.yaml")
	require.NoError(t, err)
	_, err = kube.Load(data)
	require.ErrorContains(t, err, `kind "Job": Load takes a v1 Pod (LoadFile reads the other kinds)`)
}

// The Container hook runs on every mapped template, and its error is a
// problem of the template.
func TestLoadFileContainerHook(t *testing.T) {
	data, err := os.ReadFile("testdata/files/statefulset.yaml")
	require.NoError(t, err)
	var seen []string
	f, err := kube.LoadFile(data, kube.LoadOptions{Container: func(c pod.Container) (pod.Container, []string, error) {
		seen = append(seen, c.Name)
		return c, []string{"hooked " + c.Name}, nil
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"postgres"}, seen)
	assert.Contains(t, f.Workloads[0].Template.Warnings, "hooked postgres")

	boom := errors.New("boom")
	_, err = kube.LoadFile(data, kube.LoadOptions{Container: func(c pod.Container) (pod.Container, []string, error) {
		return c, nil, boom
	}})
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "documents[1].spec.template.spec: boom")
}

// LoadFile gives the options' ConfigMaps and Secrets to the mapping, with
// the file's, and leaves the caller's maps alone.
func TestLoadFileKeepsOptionMaps(t *testing.T) {
	data, err := os.ReadFile("testdata/files/web.yaml")
	require.NoError(t, err)
	mine := map[string]*corev1.ConfigMap{"other": {}}
	f, err := kube.LoadFile(data, kube.LoadOptions{ConfigMaps: mine})
	require.NoError(t, err)
	assert.Len(t, mine, 1)
	assert.Len(t, f.ConfigMaps, 1, "the file's own")
}

// pod.New's refusal is a problem that wraps its error.
func TestLoadFilePodNewRefusal(t *testing.T) {
	_, err := kube.LoadFile([]byte(string(manifest(hello+"    imagePullPolicy: Always\n"))), kube.LoadOptions{})
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	var kerr *kube.Error
	require.ErrorAs(t, err, &kerr)
	require.Len(t, kerr.Problems, 1)
	assert.Equal(t, "spec", kerr.Problems[0].Path)
	assert.Contains(t, kerr.Problems[0].Message, "podkit rejects the spec")
}

func TestProblemLines(t *testing.T) {
	data := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# second\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  k: [unclosed\n"
	_, err := kube.LoadFile([]byte(data), kube.LoadOptions{})
	var kerr *kube.Error
	require.ErrorAs(t, err, &kerr)
	require.Len(t, kerr.Problems, 1)
	p := kerr.Problems[0]
	assert.Equal(t, 1, p.Document)
	assert.Equal(t, "documents[1]", p.Path)
	assert.Equal(t, 10, p.Line, p.Message)
	assert.Equal(t, "yaml: line 10: did not find expected ',' or ']'", p.Message)
}

// A v1 List, as kubectl get -o yaml writes it, holds objects at
// items[i] of its document.
func TestLoadFileList(t *testing.T) {
	const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings}
  data: {mode: fast}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: c, image: busybox}]
- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata: {name: web}
`
	f, err := kube.LoadFile([]byte(list), kube.LoadOptions{})
	require.NoError(t, err)
	require.Len(t, f.Workloads, 1)
	assert.Equal(t, "Deployment", f.Workloads[0].Kind)
	assert.Equal(t, 0, f.Workloads[0].Document)
	assert.Contains(t, f.ConfigMaps, "settings")
	var warnings []string
	for _, p := range f.Problems {
		warnings = append(warnings, p.String())
	}
	assert.Contains(t, warnings, `skipped, podkit does not run these kinds: Ingress "web" (documents[0].items[2])`)

	broken := strings.Replace(list, "containers: [{name: c, image: busybox}]", "containers: [{name: c, image: busybox, imagePullPolicy: 1}]", 1)
	got := problemsOf(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"+broken+"- 7\n")
	assert.Equal(t, []string{
		"documents[1].items[1].spec.template.spec.containers[0].imagePullPolicy: must be Always, IfNotPresent or Never, got the number 1",
		"documents[1].items[3]: must be a Kubernetes object (a map with apiVersion and kind), got the number 7",
		`skipped, podkit does not run these kinds: Ingress "web" (documents[1].items[2])`,
	}, got)
}

// Each problem has the line of the file its path is on, or of the deepest
// part of the path the file has.
func TestLoadFileProblemLines(t *testing.T) {
	data, err := os.ReadFile("testdata/files/broken.yaml")
	require.NoError(t, err)
	_, err = kube.LoadFile(data, kube.LoadOptions{})
	var kerr *kube.Error
	require.ErrorAs(t, err, &kerr)
	lines := make(map[string]int)
	for _, p := range kerr.Problems {
		lines[p.Path] = p.Line
	}
	for path, line := range map[string]int{
		"documents[1].spec.replicas":                                           13,
		"documents[1].spec.template.spec.restartPolicy":                        20,
		"documents[1].spec.template.spec.containers[0].imagePullPolice":        24,
		"documents[1].spec.template.spec.containers[1].command":                27, // the container: it has no command
		"documents[2].spec.template.spec.restartPolicy":                        41, // the spec: it has none
		"documents[2].spec.template.spec.hostPID":                              42,
		"documents[2].spec.template.spec.containers[0].ports[0].containerPort": 47,
	} {
		assert.Equal(t, line, lines[path], path)
	}

	// Load's problems have their lines too; a key may hold dots.
	_, err = kube.Load([]byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a.b/c: x}\nspec:\n  containers:\n  - name: c\n    image: 5\n"))
	require.ErrorAs(t, err, &kerr)
	require.Len(t, kerr.Problems, 2)
	assert.Equal(t, "spec.containers[0].image", kerr.Problems[0].Path)
	assert.Equal(t, 9, kerr.Problems[0].Line)
	assert.Equal(t, "metadata.labels: ignored: podkit keeps no object metadata", kerr.Problems[1].String())
	assert.Equal(t, 5, kerr.Problems[1].Line)
}
