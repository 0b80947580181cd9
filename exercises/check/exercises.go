package main

import "time"

// exercises is the path, in order. Each check function is in exNN.go.
var exercises = []*exercise{
	{num: 1, dir: "01-namespaces", title: "a process in namespaces of its own",
		duration: 2 * time.Second, check: check01},
	{num: 2, dir: "02-shared-network", title: "two processes sharing one network namespace",
		duration: 3 * time.Second, check: check02},
	{num: 3, dir: "03-init-container", title: "init containers",
		duration: 4 * time.Second, check: check03},
	{num: 4, dir: "04-sidecar", title: "a sidecar, started before the app and stopped after it",
		duration: 3 * time.Second, check: check04},
	{num: 5, dir: "05-ambassador", title: "an ambassador, the pod's way out",
		duration: 3 * time.Second, check: check05},
	{num: 6, dir: "06-adapter", title: "an adapter you write: the app's statistics as Prometheus metrics",
		duration: 3 * time.Second, args: args06, check: check06},
	{num: 7, dir: "07-crash-loop-backoff", title: "restart policy and crash-loop back-off",
		duration: 8 * time.Second, check: check07},
	{num: 8, dir: "08-probes", title: "readiness and liveness probes",
		duration: 6500 * time.Millisecond, check: check08},
}
