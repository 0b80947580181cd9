package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// podkit validate reports every problem of every document at once, as
// text or JSON.
func TestValidateMultiDocument(t *testing.T) {
	k := newPodkit(t)
	stdout, stderr, code := k.run("validate", "-f", "testdata/broken.yaml")
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	assert.ElementsMatch(t, []string{
		`documents[0].spec.replicas: must be an integer, got the string "2"`,
		`documents[0].spec.template.spec.containers[0].imagePullPolice: unknown field; did you mean imagePullPolicy?`,
		`documents[0].spec.template.spec.restartPolicy: must be Always, OnFailure or Never, got the number 5`,
		`documents[0].spec.template.spec.containers[0].volumeMounts[0].name: "html": no volume of that name in the pod`,
		`documents[1].metadata.name: "Migrate": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		`documents[1].spec.podFailurePolicy: not supported: podkit does not apply pod failure policies yet: every failed pod counts towards backoffLimit`,
		`documents[1].spec.template.spec.containers[0].command: not supported: required: the container has no image to take a default command from; did you mean command? (args are given to a command)`,
	}, lines)

	stdout, _, code = k.run("validate", "-f", "testdata/broken.yaml", "-o", "json")
	assert.Equal(t, 2, code)
	var problems []struct {
		Document int    `json:"document"`
		Path     string `json:"path"`
		Message  string `json:"message"`
		Kind     string `json:"kind"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &problems), stdout)
	require.Len(t, problems, 7)
	assert.Contains(t, problems, struct {
		Document int    `json:"document"`
		Path     string `json:"path"`
		Message  string `json:"message"`
		Kind     string `json:"kind"`
	}{1, "documents[1].spec.podFailurePolicy", "podkit does not apply pod failure policies yet: every failed pod counts towards backoffLimit", "unsupported"})

	stdout, stderr, code = k.run("validate", "-f", "testdata/deployment.yaml")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "Deployment \"greeter\" is valid\n", stdout)
	stdout, _, code = k.run("validate", "-f", "testdata/batch.yaml", "--output", "json")
	assert.Equal(t, 0, code)
	assert.JSONEq(t, `[{"document": 2, "path": "", "message": "skipped, podkit does not run these kinds: Ingress \"once\" (documents[2])", "kind": "warning"}]`, stdout)
	_, stderr, code = k.run("validate", "-f", "testdata/batch.yaml", "-o", "yaml")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `--output: "yaml": must be text or json`)
}

// podkit run runs a file whose one workload is one pod, and refuses, naming
// it, what needs more.
func TestRunMultiDocument(t *testing.T) {
	k := newPodkit(t)
	stdout, stderr, code := k.run("run", "-f", "testdata/batch.yaml", "--events", "none")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "work | job done\n", stdout)
	assert.Contains(t, stderr, `warning: skipped, podkit does not run these kinds: Ingress "once" (documents[2])`)

	dir := t.TempDir()
	data, err := os.ReadFile("testdata/deployment.yaml")
	require.NoError(t, err)
	job, err := os.ReadFile("testdata/batch.yaml")
	require.NoError(t, err)
	for _, tt := range []struct{ name, content, want string }{
		{"paused", strings.Replace(string(job), "backoffLimit: 0", "parallelism: 0", 1), `Job "once": parallelism 0: the Job runs no pod`},
		{"one name", string(job) + "---\n" + strings.Replace(string(data), "name: greeter", "name: once", 1), `Job "once" and Deployment "once": one name`},
		{"nothing to run", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "no workload to run"},
		{"cron job", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  schedule: '0 3 * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox:1.36}]\n",
			`CronJob "nightly": podkit run does not run schedules yet`},
		{"invalid", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" + strings.Replace(string(data), "replicas: 1", "replicas: one", 1),
			`documents[2].spec.replicas: must be an integer, got the string "one"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.name+".yaml")
			require.NoError(t, os.WriteFile(file, []byte(tt.content), 0o644))
			stdout, stderr, code := k.run("run", "-f", file)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tt.want)
			assert.Empty(t, stdout, "something ran")
			names, _ := os.ReadDir(k.runDir)
			assert.Empty(t, names, "a pod was started")
		})
	}
}
