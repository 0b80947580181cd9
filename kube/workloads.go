package kube

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// JobParams are a Job's parameters, with the API server's defaults
// applied.
type JobParams struct {
	// Completions is the number of pods that must succeed; nil, when
	// only parallelism is set, means a work queue: the Job is complete
	// once any pod succeeds and the others have ended. Both unset mean 1.
	Completions *int32
	// Parallelism is the number of pods run at once (1 when unset).
	Parallelism int32
	// BackoffLimit is the number of failed pods, or container restarts
	// with restartPolicy OnFailure, after which the Job fails (6 when
	// unset).
	BackoffLimit int32
	// ActiveDeadline bounds the Job's running time; 0 means none.
	ActiveDeadline time.Duration
	// TTLAfterFinished is how long a finished Job is kept, nil for ever.
	TTLAfterFinished *time.Duration
	// CompletionMode is NonIndexed: LoadFile refuses Indexed for now.
	CompletionMode batchv1.CompletionMode
}

// StatefulSetParams are a StatefulSet's parameters, with the API server's
// defaults applied.
type StatefulSetParams struct {
	// PodManagementPolicy is OrderedReady (the default: pods start one
	// by one, each once the one before is ready, and stop in reverse) or
	// Parallel.
	PodManagementPolicy appsv1.PodManagementPolicyType
	// ServiceName is the headless Service named for the pods' DNS names.
	ServiceName string
	// OrdinalStart is the ordinal of the first pod (spec.ordinals.start,
	// 0 by default): pods are named NAME-ORDINAL.
	OrdinalStart int32
}

// CronJobParams are a CronJob's parameters, with the API server's defaults
// applied. The Job it creates is in Workload.Job.
type CronJobParams struct {
	// Schedule is the cron schedule, as written; LoadFile has parsed it.
	Schedule string
	// Location is the time zone of the schedule: spec.timeZone, or this
	// machine's local time when unset, as the Kubernetes controller
	// manager's.
	Location *time.Location
	// ConcurrencyPolicy is Allow (the default), Forbid or Replace.
	ConcurrencyPolicy batchv1.ConcurrencyPolicy
	// StartingDeadline is how late a missed run may still start; nil
	// means no bound.
	StartingDeadline *time.Duration
	// Suspend stops new runs.
	Suspend bool
	// SuccessfulJobsHistoryLimit and FailedJobsHistoryLimit are how many
	// finished Jobs are kept (3 and 1 by default).
	SuccessfulJobsHistoryLimit, FailedJobsHistoryLimit int32
}

const (
	noRollouts   = "ignored: podkit does not roll out new versions of a pod template"
	noReadyDelay = "ignored: podkit counts a pod available once it is ready"
	noHistory    = "ignored: podkit keeps no old revisions"
)

var deploymentRules = map[string]rule{
	"strategy":                {warn: noRollouts},
	"minReadySeconds":         {warn: noReadyDelay},
	"revisionHistoryLimit":    {warn: noHistory},
	"progressDeadlineSeconds": {warn: noRollouts},
	"paused":                  {refuse: "podkit has no rollouts to pause"},
}

var replicaSetRules = map[string]rule{
	"minReadySeconds": {warn: noReadyDelay},
}

var daemonSetRules = map[string]rule{
	"updateStrategy":       {warn: noRollouts},
	"minReadySeconds":      {warn: noReadyDelay},
	"revisionHistoryLimit": {warn: noHistory},
}

var statefulSetRules = map[string]rule{
	"updateStrategy":                       {warn: noRollouts},
	"minReadySeconds":                      {warn: noReadyDelay},
	"revisionHistoryLimit":                 {warn: noHistory},
	"volumeClaimTemplates":                 {refuse: "podkit does not provide persistent volumes yet: use an emptyDir or a hostPath volume"},
	"persistentVolumeClaimRetentionPolicy": {warn: "ignored: podkit makes no PersistentVolumeClaims"},
}

var jobRules = map[string]rule{
	"podFailurePolicy":     {refuse: "podkit does not apply pod failure policies yet: every failed pod counts towards backoffLimit"},
	"backoffLimitPerIndex": {refuse: "podkit runs no Indexed Jobs yet"},
	"maxFailedIndexes":     {refuse: "podkit runs no Indexed Jobs yet"},
	"successPolicy":        {refuse: "podkit does not apply success policies yet: the Job succeeds when its completions succeed"},
	"selector":             {warn: "ignored: podkit knows the Job's pods without a selector"},
	"manualSelector":       {warn: "ignored: podkit knows the Job's pods without a selector"},
	"managedBy":            {warn: "ignored: podkit runs the Job itself"},
	"podReplacementPolicy": {warn: "ignored: podkit replaces a failed pod once it has terminated"},
}

// workload maps obj when it runs pods, and returns nil otherwise.
func (o LoadOptions) workload(pr *problems, obj any) *Workload {
	switch x := obj.(type) {
	case *corev1.Pod:
		w := &Workload{Kind: "Pod", Name: x.Name, Object: x, Replicas: 1}
		w.Template = o.mapFilePod(pr, x, "")
		return w
	case *appsv1.Deployment:
		w := &Workload{Kind: "Deployment", Name: x.Name, Object: x, Replicas: replicas(pr, x.Spec.Replicas)}
		o.replicated(pr, w, &x.ObjectMeta, x.Status, x.Spec.Selector, &x.Spec.Template, &x.Spec, deploymentRules, "replicas")
		return w
	case *appsv1.ReplicaSet:
		w := &Workload{Kind: "ReplicaSet", Name: x.Name, Object: x, Replicas: replicas(pr, x.Spec.Replicas)}
		o.replicated(pr, w, &x.ObjectMeta, x.Status, x.Spec.Selector, &x.Spec.Template, &x.Spec, replicaSetRules, "replicas")
		return w
	case *appsv1.DaemonSet:
		w := &Workload{Kind: "DaemonSet", Name: x.Name, Object: x, Replicas: 1}
		o.replicated(pr, w, &x.ObjectMeta, x.Status, x.Spec.Selector, &x.Spec.Template, &x.Spec, daemonSetRules)
		return w
	case *appsv1.StatefulSet:
		w := &Workload{Kind: "StatefulSet", Name: x.Name, Object: x, Replicas: replicas(pr, x.Spec.Replicas)}
		o.replicated(pr, w, &x.ObjectMeta, x.Status, x.Spec.Selector, &x.Spec.Template, &x.Spec, statefulSetRules,
			"replicas", "serviceName", "podManagementPolicy", "ordinals")
		w.StatefulSet = statefulSetParams(pr, &x.Spec)
		return w
	case *batchv1.Job:
		w := &Workload{Kind: "Job", Name: x.Name, Object: x}
		workloadMeta(pr, &x.ObjectMeta, x.Status)
		w.Job = o.job(pr, w, "spec", &x.Spec)
		return w
	case *batchv1.CronJob:
		w := &Workload{Kind: "CronJob", Name: x.Name, Object: x}
		workloadMeta(pr, &x.ObjectMeta, x.Status)
		w.CronJob = cronJobParams(pr, &x.Spec)
		pr.others("spec.jobTemplate.metadata", &x.Spec.JobTemplate.ObjectMeta, metadataRules)
		w.Job = o.job(pr, w, "spec.jobTemplate.spec", &x.Spec.JobTemplate.Spec)
		return w
	}
	return nil
}

// replicated checks and maps a workload of the apps group: its metadata,
// status, selector and template, and the other fields of its spec, with
// rules; handled lists those the caller reads, besides the selector and
// the template.
func (o LoadOptions) replicated(pr *problems, w *Workload, meta *metav1.ObjectMeta, status any,
	sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, spec any, rules map[string]rule, handled ...string) {
	workloadMeta(pr, meta, status)
	o.template(pr, w, sel, true, t, "spec.template")
	pr.others("spec", spec, rules, append(handled, "selector", "template")...)
}

// workloadMeta checks a workload's metadata and status.
func workloadMeta(pr *problems, meta *metav1.ObjectMeta, status any) {
	v := validator{}
	v.dnsSubdomain("metadata.name", meta.Name)
	pr.take(v.errs)
	pr.others("metadata", meta, metadataRules, "name")
	if !isEmptyValue(status) {
		pr.warnf("status", "ignored: podkit reports the status itself")
	}
}

func replicas(pr *problems, n *int32) int32 {
	if n == nil {
		return 1
	}
	if *n < 0 {
		pr.invalidf("spec.replicas", "%d: must not be negative", *n)
		return 0
	}
	return *n
}

// template checks a workload's selector against its pod template, and
// maps the template as a Pod of the workload's name. A pod of a
// Deployment, ReplicaSet, StatefulSet or DaemonSet must have restartPolicy
// Always (keep) and no active deadline; a Job's, OnFailure or Never.
func (o LoadOptions) template(pr *problems, w *Workload, sel *metav1.LabelSelector, keep bool, t *corev1.PodTemplateSpec, base string) {
	if keep {
		switch {
		case sel == nil || len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0:
			pr.invalidf("spec.selector", "required: the labels of the pods, such as matchLabels: {app: %s}", w.Name)
		default:
			s, err := metav1.LabelSelectorAsSelector(sel)
			switch {
			case err != nil:
				pr.invalidf("spec.selector", "%v", err)
			case !s.Matches(labels.Set(t.Labels)):
				pr.invalidf(field(base, "metadata.labels"), "must match spec.selector (%s)", s)
			}
		}
	}
	rp := field(base, "spec.restartPolicy")
	switch policy := t.Spec.RestartPolicy; {
	case keep && policy != "" && policy != corev1.RestartPolicyAlways:
		pr.invalidf(rp, "%q: a %s's pods must have restartPolicy Always", policy, w.Kind)
	case keep && t.Spec.ActiveDeadlineSeconds != nil:
		pr.invalidf(field(base, "spec.activeDeadlineSeconds"), "a %s's pods may not have one", w.Kind)
	case !keep && policy == "":
		pr.invalidf(rp, "required: a Job's pods must have restartPolicy OnFailure or Never")
	case !keep && policy == corev1.RestartPolicyAlways:
		pr.invalidf(rp, "%q: a Job's pods must have restartPolicy OnFailure or Never", policy)
	}
	kp := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: *t.ObjectMeta.DeepCopy(),
		Spec:       *t.Spec.DeepCopy(),
	}
	kp.Name = w.Name
	w.Template = o.mapFilePod(pr, kp, base)
}

// job checks and maps a Job's spec at base: its parameters and pod
// template.
func (o LoadOptions) job(pr *problems, w *Workload, base string, s *batchv1.JobSpec) *JobParams {
	o.template(pr, w, s.Selector, false, &s.Template, field(base, "template"))
	pr.others(base, s, jobRules, "parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
		"template", "ttlSecondsAfterFinished", "completionMode", "suspend")
	p := &JobParams{Parallelism: 1, BackoffLimit: 6, CompletionMode: batchv1.NonIndexedCompletion}
	v := validator{}
	count := func(name string, n *int32) {
		if n != nil && *n < 0 {
			v.add(field(base, name), "%d: must not be negative", *n)
		}
	}
	count("parallelism", s.Parallelism)
	count("completions", s.Completions)
	count("backoffLimit", s.BackoffLimit)
	if s.Parallelism != nil {
		p.Parallelism = *s.Parallelism
	}
	switch {
	case s.Completions != nil:
		p.Completions = ptr(*s.Completions)
	case s.Parallelism == nil:
		p.Completions = ptr(int32(1))
	}
	if s.BackoffLimit != nil {
		p.BackoffLimit = *s.BackoffLimit
	}
	if t := s.ActiveDeadlineSeconds; t != nil {
		v.seconds(field(base, "activeDeadlineSeconds"), *t, 1)
		p.ActiveDeadline = time.Duration(min(max(*t, 0), maxSeconds)) * time.Second
	}
	if t := s.TTLSecondsAfterFinished; t != nil {
		v.seconds(field(base, "ttlSecondsAfterFinished"), int64(*t), 0)
		p.TTLAfterFinished = ptr(time.Duration(max(*t, 0)) * time.Second)
	}
	pr.take(v.errs)
	switch m := ptrValue(s.CompletionMode); m {
	case "", batchv1.NonIndexedCompletion:
	case batchv1.IndexedCompletion:
		pr.unsupportedf(field(base, "completionMode"), "Indexed: podkit does not give pods completion indices yet")
	default:
		pr.invalidf(field(base, "completionMode"), "%q: must be NonIndexed or Indexed", m)
	}
	if ptrValue(s.Suspend) {
		pr.unsupportedf(field(base, "suspend"), "true: podkit starts a Job's pods at once; a suspended Job would never run")
	}
	return p
}

func statefulSetParams(pr *problems, s *appsv1.StatefulSetSpec) *StatefulSetParams {
	p := &StatefulSetParams{PodManagementPolicy: appsv1.OrderedReadyPodManagement, ServiceName: s.ServiceName}
	switch s.PodManagementPolicy {
	case "":
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
		p.PodManagementPolicy = s.PodManagementPolicy
	default:
		pr.invalidf("spec.podManagementPolicy", "%q: must be OrderedReady or Parallel", s.PodManagementPolicy)
	}
	if s.ServiceName != "" {
		for _, msg := range validation.IsDNS1123Label(s.ServiceName) {
			pr.invalidf("spec.serviceName", "%q: %s", s.ServiceName, msg)
		}
	}
	if o := s.Ordinals; o != nil {
		if o.Start < 0 {
			pr.invalidf("spec.ordinals.start", "%d: must not be negative", o.Start)
		}
		p.OrdinalStart = o.Start
		pr.others("spec.ordinals", o, nil, "start")
	}
	return p
}

func cronJobParams(pr *problems, s *batchv1.CronJobSpec) *CronJobParams {
	p := &CronJobParams{Schedule: s.Schedule, Location: time.Local, ConcurrencyPolicy: batchv1.AllowConcurrent,
		Suspend: ptrValue(s.Suspend), SuccessfulJobsHistoryLimit: 3, FailedJobsHistoryLimit: 1}
	switch {
	case s.Schedule == "":
		pr.invalidf("spec.schedule", "required: a cron schedule such as \"*/5 * * * *\"")
	case strings.Contains(s.Schedule, "TZ="):
		pr.invalidf("spec.schedule", "%q: give the time zone in spec.timeZone, not in the schedule", s.Schedule)
	default:
		// The parser of Kubernetes' CronJob controller.
		if _, err := cron.ParseStandard(s.Schedule); err != nil {
			pr.invalidf("spec.schedule", "%q: %v", s.Schedule, err)
		}
	}
	if tz := s.TimeZone; tz != nil {
		loc, err := time.LoadLocation(*tz)
		switch {
		case *tz == "" || *tz == "Local" || err != nil:
			pr.invalidf("spec.timeZone", "%q: not a time zone of the tz database (such as Europe/Paris or Etc/UTC)", *tz)
		default:
			p.Location = loc
		}
	}
	switch s.ConcurrencyPolicy {
	case "":
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
		p.ConcurrencyPolicy = s.ConcurrencyPolicy
	default:
		pr.invalidf("spec.concurrencyPolicy", "%q: must be Allow, Forbid or Replace", s.ConcurrencyPolicy)
	}
	if t := s.StartingDeadlineSeconds; t != nil {
		v := validator{}
		v.seconds("spec.startingDeadlineSeconds", *t, 0)
		pr.take(v.errs)
		p.StartingDeadline = ptr(time.Duration(min(max(*t, 0), maxSeconds)) * time.Second)
	}
	for _, l := range []struct {
		name string
		n    *int32
		p    *int32
	}{{"successfulJobsHistoryLimit", s.SuccessfulJobsHistoryLimit, &p.SuccessfulJobsHistoryLimit},
		{"failedJobsHistoryLimit", s.FailedJobsHistoryLimit, &p.FailedJobsHistoryLimit}} {
		if l.n == nil {
			continue
		}
		if *l.n < 0 {
			pr.invalidf(field("spec", l.name), "%d: must not be negative", *l.n)
		}
		*l.p = *l.n
	}
	return p
}

// configKey checks the key of a ConfigMap's or Secret's data.
func configKey(pr *problems, path, key string) {
	for _, msg := range validation.IsConfigMapKey(key) {
		pr.invalidf(path, "%q: %s", key, msg)
	}
}

// String names the workload as messages do: Deployment "web".
func (w *Workload) String() string {
	return fmt.Sprintf("%s %q", w.Kind, w.Name)
}
