package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

// The Job controller's back-off before it replaces a failed pod: 10s
// doubling with each failure, up to 6 minutes, as in Kubernetes.
const (
	jobBackoffInitial = 10 * time.Second
	jobBackoffMax     = 6 * time.Minute
)

// Reasons of a Job's events and conditions, as the Job controller's.
const (
	reasonSuccessfulCreate     = "SuccessfulCreate"
	reasonCompleted            = "Completed"
	reasonBackoffLimitExceeded = "BackoffLimitExceeded"
	reasonDeadlineExceeded     = "DeadlineExceeded"
)

// errJobFailed is the error of a Job that failed: its reason follows.
var errJobFailed = errors.New("job failed")

// jobRun runs a Job on this machine as the Job controller runs it on a
// cluster: pods of its template, at most parallelism at once, until
// completions of them have succeeded (with completions unset: until one has
// succeeded and none runs), replacing failed pods after a back-off until
// more than backoffLimit have failed, within activeDeadlineSeconds.
type jobRun struct {
	name    string
	params  kube.JobParams
	backoff pod.Backoff // Initial and Max of the delay before a replacement
	// onFailure is the pods' restartPolicy OnFailure: their containers'
	// restarts count against backoffLimit, as failed pods do.
	onFailure bool
	// start starts a pod named name, recording SuccessfulCreate; ctx
	// being done stops it gracefully.
	start func(ctx context.Context, name string) (*pod.Pod, error)
	// event records an event of the Job.
	event func(typ pod.EventType, reason, msg string)
}

// run runs the Job until it is complete (nil), has failed (an error wrapping
// errJobFailed, naming the reason) or ctx is done (ctx's cause, once every
// pod has stopped). Every pod it started has ended when it returns.
func (j *jobRun) run(ctx context.Context) error {
	completions, queue := int32(1), false
	if j.params.Completions != nil {
		completions = *j.params.Completions
	} else if j.params.Parallelism > 1 {
		queue = true
	}
	parallelism := max(j.params.Parallelism, 1)
	var deadline <-chan time.Time
	if d := j.params.ActiveDeadline; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	podCtx, stopPods := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopPods(nil)
	type ended struct{ succeeded bool }
	endedc := make(chan ended)
	var active, succeeded, failed int32
	// restarts are the container restarts of the running pods, by pod,
	// which their watchers keep; poke tells the loop of a change.
	var mu sync.Mutex
	restarts := make(map[*pod.Pod]int32)
	poke := make(chan struct{}, 1)
	restarted := func() int32 {
		mu.Lock()
		defer mu.Unlock()
		var n int32
		for _, r := range restarts {
			n += r
		}
		return n
	}
	var next time.Time // no replacement before
	var retry *time.Timer
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	// finish stops the running pods, saying why (the cause of ctx, or
	// the Job's failure), and waits until they have ended.
	finish := func(why error) {
		stopPods(why)
		for ; active > 0; active-- {
			<-endedc
		}
	}
	for {
		if ctx.Err() != nil {
			finish(context.Cause(ctx))
			return context.Cause(ctx)
		}
		switch {
		case queue && succeeded > 0 && active == 0, !queue && succeeded >= completions:
			j.event(pod.EventNormal, reasonCompleted, "Job completed")
			return nil
		case failed > j.params.BackoffLimit:
			err := fmt.Errorf("job %q: %w: %s: %d pods failed, backoffLimit %d", j.name, errJobFailed, reasonBackoffLimitExceeded, failed, j.params.BackoffLimit)
			finish(err)
			j.event(pod.EventWarning, reasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
			return err
		case j.onFailure && pastBackoffLimitOnFailure(restarted(), j.params.BackoffLimit):
			err := fmt.Errorf("job %q: %w: %s: %d container restarts, backoffLimit %d", j.name, errJobFailed, reasonBackoffLimitExceeded, restarted(), j.params.BackoffLimit)
			finish(err)
			j.event(pod.EventWarning, reasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
			return err
		}
		want := parallelism
		switch {
		case queue && succeeded > 0:
			want = 0 // a work queue is draining
		case !queue:
			want = min(parallelism, completions-succeeded)
		}
		var wake <-chan time.Time
		if active < want {
			if wait := time.Until(next); wait > 0 {
				if retry == nil {
					retry = time.NewTimer(wait)
				} else {
					retry.Reset(wait)
				}
				wake = retry.C
			} else {
				name := generateName(j.name)
				p, err := j.start(podCtx, name)
				if err != nil {
					finish(err)
					if p != nil {
						_ = p.Wait()
					}
					return fmt.Errorf("job %q: pod %q: %w", j.name, name, err)
				}
				active++
				go func() {
					if j.onFailure {
						watchRestarts(p, func(n int32) {
							mu.Lock()
							restarts[p] = n
							mu.Unlock()
							select {
							case poke <- struct{}{}:
							default:
							}
						})
					}
					_ = p.Wait()
					mu.Lock()
					delete(restarts, p)
					mu.Unlock()
					endedc <- ended{p.Status().Phase == pod.PhaseSucceeded}
				}()
				continue
			}
		}
		select {
		case e := <-endedc:
			active--
			if e.succeeded {
				succeeded++
			} else if ctx.Err() == nil {
				failed++
				next = time.Now().Add(backoffDelay(j.backoff, failed))
			}
		case <-wake:
		case <-poke:
		case <-deadline:
			err := fmt.Errorf("job %q: %w: %s: active longer than %s", j.name, errJobFailed, reasonDeadlineExceeded, j.params.ActiveDeadline)
			finish(err)
			j.event(pod.EventWarning, reasonDeadlineExceeded, "Job was active longer than specified deadline")
			return err
		case <-ctx.Done():
			finish(context.Cause(ctx))
			return context.Cause(ctx)
		}
	}
}

// pastBackoffLimitOnFailure reports whether the container restarts of a
// Job's running pods of restartPolicy OnFailure fail it, as the Job
// controller decides: any restart for a backoffLimit of 0, else at least
// backoffLimit of them.
func pastBackoffLimitOnFailure(restarts, limit int32) bool {
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}

// watchRestarts calls set with the number of container restarts of p each
// time it changes, until p has ended.
func watchRestarts(p *pod.Pod, set func(int32)) {
	var last int32
	for range p.Subscribe(context.Background()) {
		var n int32
		for _, c := range p.Status().Containers {
			n += int32(c.RestartCount)
		}
		if n != last {
			last = n
			set(n)
		}
	}
}

// backoffDelay returns the back-off before the pod that replaces the n-th
// failed one: b.Initial doubling with each failure, up to b.Max.
func backoffDelay(b pod.Backoff, failed int32) time.Duration {
	d := b.Initial
	for i := int32(1); i < failed && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// nameAlphabet is the alphabet of the random suffix of generated names, as
// Kubernetes' (no vowels, nor 0, 1 and 3, so that no word is spelt).
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// generateName returns base-XXXXX with 5 random characters, as the API
// server makes names from a generateName of base-, truncating base so
// that the name has at most 63 characters.
func generateName(base string) string {
	if len(base) > 57 {
		base = base[:57]
	}
	b := make([]byte, 5)
	for i := range b {
		b[i] = nameAlphabet[rand.IntN(len(nameAlphabet))]
	}
	return base + "-" + string(b)
}
