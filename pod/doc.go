// Package pod runs a group of host processes as a Kubernetes-style pod on one
// Linux machine: they share network (with its own loopback, or the host's;
// see Network modes), IPC and UTS (the pod's hostname) namespaces, and
// optionally a PID namespace, and they are supervised with the kubelet's
// semantics for phases, conditions, restart policies, crash-loop back-off
// and graceful termination.
//
// # Life of a pod
//
// New validates a spec and returns a *Pod. Run (or Start and Wait) runs it:
//
//  1. An infra process, the counterpart of Kubernetes' pause container,
//     creates the pod's namespaces, sets the hostname and brings loopback up.
//     When the pod shares a PID namespace the infra is its PID 1 and reaps
//     every orphan. A bridged pod's veth pair is then set up.
//  2. Each container's process joins those namespaces before it executes a
//     single instruction of its own: it is started from an OS thread that has
//     already entered them with setns.
//  3. Init containers (WithInitContainers) run one at a time, in order,
//     each to successful completion; a failed one is restarted with the
//     crash-loop back-off, unless the restart policy is Never, which fails
//     the pod. An init container with RestartPolicy RestartAlways is a
//     native sidecar: the next one starts as soon as it runs, it is
//     restarted whenever it ends, and it is stopped after the main
//     containers. Then the main containers start, all at once, and the pod
//     becomes Initialized.
//  4. Containers that end are restarted per the restart policy (Always,
//     OnFailure, Never), the first time at once, then after a back-off of
//     10s doubling to 300s, reset after 10 minutes of running.
//  5. The pod ends when every main container has ended for good (phase
//     Succeeded or Failed), when its active deadline passes
//     (WithActiveDeadline, which fails it with reason DeadlineExceeded), or
//     when the context given to Start is done. The init and main containers
//     then get their stop signal, and once they have all ended, each sidecar
//     gets its own, one at a time, in reverse order of declaration; whatever
//     is alive when the one termination grace period of the pod (default
//     30s) ends is killed with SIGKILL. A sidecar's exit status does not
//     count toward the pod's phase. Finally a bridged pod's veth pair is
//     removed and the infra is killed, which takes every orphan of the pod
//     with it, and Run returns once all of them have been reaped.
//
// An idle pod uses no CPU: the supervisor waits for process exits in blocking
// waitid calls on pidfds, and for timers only while a back-off or grace
// period runs.
//
// # Network modes
//
// WithNetwork picks one of three network modes:
//
//   - NetworkIsolated, the default: the pod has a network namespace of its
//     own with only a loopback. Its containers reach each other on
//     127.0.0.1, and nothing else; nothing outside reaches them but this
//     program, through DialContext and Listen. Status.PodIP is empty:
//     127.0.0.1 would name the host's loopback, not the pod's.
//   - NetworkHost, Kubernetes' hostNetwork: the pod has no network
//     namespace. The infra does not create one, containers stay in the
//     host's (the supervising program's), and probes, HTTP hooks,
//     DialContext and Listen use it: 127.0.0.1 is the host's loopback, a
//     container's server there is reachable from the host, and its ports
//     clash with the host's. Status.PodIP and HostIP are 127.0.0.1. Unlike
//     Kubernetes, which gives such a pod the node's hostname, podkit keeps
//     the pod's own UTS namespace, with the pod's hostname, and its own IPC
//     namespace: only the network is the host's.
//   - NetworkBridged: the pod has a network namespace of its own, with its
//     loopback and eth0, one end of a veth pair whose other end is on the
//     host, named "pk" and 8 hex digits of a hash of the pod's cgroup
//     name, which its alias holds. The pair has a /30 or /31 of its own
//     (Network.Subnet; by default the first /30 of 10.213.0.0/16 that
//     overlaps no address or route of the host, other bridged pods'
//     included): the host end takes its first address (Status.HostIP),
//     the pod end the second (Status.PodIP), and the pod's default route
//     goes through the host end. The host reaches the pod's servers at
//     PodIP, and the pod the host's servers at HostIP (or at any address
//     of the host). Nothing is forwarded or translated beyond the host:
//     podkit sets up no NAT, and egress to the rest of the world goes
//     through an ambassador. IPv6 is not configured. The pair is set up
//     after the infra has created the namespace and before any container
//     starts: it is created with its pod end already in the pod's
//     namespace, and configured there from a thread that has entered it.
//     When the pod ends the pair is removed, even if a socket made by
//     Listen still holds the namespace. If the supervisor dies, the kernel
//     removes the pair with the namespace; if something still holds the
//     namespace, the next bridged pod started on the machine finds the
//     pair by its alias and removes it, as it does stale cgroups.
//
// # Probes
//
// Containers may have startup, liveness and readiness probes with
// Kubernetes' defaults (period 10s, timeout 1s, success threshold 1,
// failure threshold 3) and handlers: exec (run in the container, as Exec
// does, killed at the timeout), TCP connect, HTTP GET and gRPC health
// (grpc.health.v1 Check; SERVING is success), the last three from inside the
// pod's network namespace, so 127.0.0.1 is the pod's loopback (the host's,
// for a pod on the host's network); 200-399 is an HTTP success. A func
// handler runs a Go check in this program. A startup
// probe holds the other probes, the container's Started status and, for a
// sidecar, the start of the next container, until it succeeds. A failed
// startup or liveness probe kills the container as the kubelet does: its
// preStop hook, then its stop signal, then SIGKILL once the probe's own
// TerminationGracePeriod (or the pod's) has passed; it is then restarted
// per the restart policy. A readiness probe only sets Ready. Each failed
// check is an Unhealthy event. Probe and hook HTTP requests carry the
// User-Agent "kube-probe/podkit".
//
// # Lifecycle hooks
//
// Container.Lifecycle has Kubernetes' postStart and preStop hooks, with exec,
// HTTP GET and sleep actions. A container is Running (and, for a sidecar,
// lets the next container start) only once its postStart hook has finished;
// a failed postStart hook (a FailedPostStartHook event) kills the container
// for a restart per policy. preStop hooks run before the stop signal whenever
// a running container is killed (the pod's stop, a failed probe or
// postStart hook), within the grace period that applies; a failed one (a
// FailedPreStopHook event) does not hold the stop up.
//
// # In-process containers
//
// A container whose Func is set is a Go function run by this program in a
// goroutine of its own, with every rule above: its place among the init
// containers or the sidecars, restarts and back-off, probes (TCP, HTTP,
// gRPC, func), HTTP and sleep hooks, stop order. Its stop signal cancels its
// context; FromContext gives it its pod and its output streams, which go to
// Logs like a process's. Listen, ListenPacket and DialContext make sockets
// inside the pod's network namespace, usable from any goroutine: an
// in-process sidecar serves the pod's loopback with no process at all.
// Packages sidecar and initcontainer build on this. A function cannot be
// killed: it must return when its context is done, and the pod waits for
// it; past the grace period it is reported killed with SIGKILL. Exec, exec
// probes and hooks, and signals other than its stop signal and SIGKILL are
// refused (ErrInProcess).
//
// Signal sends a signal to a running container, as kill(1) would; a config
// reloader sends SIGHUP this way. VolumePath gives the host directory of a
// volume while the pod runs.
//
// # Resources
//
// Every pod has a cgroup, and the infra and every container a cgroup nested
// in it, so a container without limits of its own is bounded by its pod's
// (WithResources).
// Container.Resources sets a CPU limit (a CFS quota per 100ms period), a CPU
// request (cpu.shares, or cpu.weight on cgroup v2, converted as the kubelet
// does), a memory limit and a pids limit. The hierarchy is picked with
// cgroups.Mode: cgroup v1 on legacy and hybrid hosts, v2 on unified ones. A
// container's process is inside its cgroup before it runs an instruction of
// its own: on v1 the starting thread joins the cgroup just for the fork (v1
// membership is per thread and inherited), on v2 the process is cloned
// straight into it (CLONE_INTO_CGROUP). A container's pids.current on v1
// counts that thread for the moment of the fork. A container killed by the OOM killer
// is reported Terminated with reason OOMKilled. Stats reads usage: memory and
// its peak, CPU time and throttling, pids, OOM kills.
//
// Groups live under a "podkit" parent at the root of the hierarchy
// (WithCgroupParent; WithNestedCgroup nests it in the program's own cgroup),
// named <pod>_<supervisor PID>_<supervisor start time>_<random>. When a pod
// ends its cgroups are emptied and removed; when a supervisor dies, the next
// pod started on the machine finds the cgroups and volumes of dead
// supervisors by their names and removes them.
//
// # Volumes and root filesystems
//
// WithVolumes gives a pod Kubernetes-style volumes: emptyDir (a directory
// made for the pod under the state directory, /var/lib/podkit by default,
// and removed with it; with medium Memory a tmpfs, optionally size-limited)
// and hostPath. Containers mount them with VolumeMounts, each at its own path
// and read-only when asked, in a mount namespace of their own: two
// containers can see one volume at different paths, and nothing is mounted
// in the host's namespace except a Memory emptyDir's tmpfs. Without a RootFS
// a container sees the host's filesystem, and a mount path must exist on the
// host. With a RootFS (a directory, for example holding a static busybox) the
// container's init makes it the container's "/" with pivot_root, mounts
// /proc, a minimal /dev and /dev/shm in it, creates the mount paths, and
// detaches the host's filesystem. Exec runs commands inside that filesystem.
//
// Mount and user namespaces cannot be entered by a multi-threaded process,
// so all of this is done by the container's init (the program re-executed)
// in a mount namespace it is cloned into, before it starts the command.
//
// # Security context
//
// Container.SecurityContext sets the user (RunAsUser, which must exist on
// the host), group, supplementary groups, no_new_privs
// (AllowPrivilegeEscalation: false) and the capabilities to drop and add,
// which leave the bounding set too. Without one a container keeps the
// supervising program's privileges. The container's init applies it on
// the thread that starts the command: capabilities leave the bounding set
// (at execve a root command's capabilities become that set, a non-root
// command keeps none), no_new_privs is set, and the command's process
// changes user and groups before it executes. With a shared PID namespace an
// init does this and executes the command in its own place, so the command
// still joins the shared namespace.
//
// # PID namespaces and init
//
// Without WithShareProcessNamespace every container has its own PID
// namespace, as in Kubernetes. A program that is PID 1 of a namespace gets no
// default signal handling (SIGTERM would be ignored) and inherits every
// orphan, so podkit does what docker run --init does: the container's PID 1
// is a small podkit init whose only child is the container's command. The
// init forwards every catchable signal to the command, reaps orphans, exits
// with the command's status once the command exits, and the kernel then
// kills whatever is left in the namespace. Status reports the init's PID.
// With a shared PID namespace the command itself is started, and the infra
// is PID 1 for all containers.
//
// The infra and the inits are the calling program itself, re-executed from
// /proc/self/exe; package podkit/internal/shim recognises them in an init
// function, so programs need no change to their main function.
//
// # Cleanup guarantees
//
// Every process a pod starts is gone when Run returns, including daemons a
// container double-forked. If the supervising program dies, even by SIGKILL,
// the kernel kills the infra and each init (they have a parent-death signal
// tied to a thread that lives exactly as long as they do), and with them the
// PID namespaces holding every other process of the pod. A bridged pod's
// veth pair is removed when the pod ends, or by the kernel with the pod's
// network namespace, or else by the next bridged pod's start.
//
// # Status, events and logs
//
// Status returns a snapshot like Kubernetes' PodStatus: phase, conditions
// (PodReadyToStartContainers, Initialized, ContainersReady, Ready) and, per
// container, its state (Waiting, Running or Terminated, with the kubelet's
// reasons), last termination state, restart count and PID. Subscribe streams
// events (Started, Exited, Failed, BackOff, Killing, Ready, PodPhase, ...),
// each with its time, pod, container and role; they are also logged through
// the zap logger given with WithLogger. Logs returns a container's recent
// output lines in the CRI log format the kubelet stores, for the current and
// the previous instance.
//
// # Differences from Kubernetes
//
//   - Containers are host processes: they see the host's filesystem,
//     including /proc, which shows host PIDs even inside a PID namespace.
//     Processes see each other through a shared PID namespace by the PIDs
//     they know (kill, wait), not by listing /proc.
//   - Containers without a root filesystem mount volumes only at paths that
//     exist on the host (the mount point cannot be created without touching
//     the host's filesystem).
//   - Exec, and exec probes and hooks, run with the supervising program's
//     user and capabilities, not the container's security context.
//   - If the infra process dies the pod fails (SandboxDied), where the
//     kubelet would create a new sandbox.
//   - A container that cannot be started (command not found, missing working
//     directory) is reported Terminated with reason StartError and exit code
//     128, and is restarted per the restart policy.
//   - When the pod is stopped through its context, its final phase follows
//     the kubelet's rule for deleted pods: Succeeded if every main container
//     exited 0, Failed otherwise.
//   - The environment of a container is PATH, HOSTNAME and its Env; nothing
//     is inherited from the supervising program.
//   - A pod is isolated by default, with only a loopback, where a
//     Kubernetes pod has an address on the cluster's network; a bridged
//     pod has an address that only its host reaches. A pod on the host's
//     network keeps its own hostname (see Network modes).
//
// # Requirements
//
// Linux 5.8 or later (pidfds and setns with a pidfd; 5.14 on cgroup v2 hosts,
// for cgroup.kill) and root, for namespaces and cgroups. Without them Start
// fails with one error naming what is missing, and nothing is left behind.
package pod
