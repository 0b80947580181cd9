// Package kube converts between Kubernetes v1 Pod manifests and pod.Spec,
// both ways, so that a pod can be written once and run by podkit on one
// machine or by a cluster.
//
// Load decodes one Pod from YAML or JSON and maps it onto a pod.Spec for
// pod.New (FromPod does the same for a decoded *corev1.Pod). LoadFile reads
// the files kubectl apply -f takes: several YAML documents of Pods,
// Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs,
// ConfigMaps, Secrets, PersistentVolumeClaims and Services, mapping each
// workload's pod template as a Pod, and reporting every problem of every
// document at once as data (Problem, *Error) with the manifest's paths. Export maps a
// pod.Spec back onto a Pod, ExportDeployment and ExportJob onto the pod
// template of a one-replica Deployment or a Job, and Marshal prints any of
// them as YAML. Validate checks a Pod against the rules of Kubernetes' API
// validation that concern these fields. The types are those of
// k8s.io/api/core/v1, so a Pod from client-go or a generator works as is.
//
// PodStatus converts a pod.Status into the status a Kubernetes API server
// holds for a pod (phase, the kubelet's conditions with their reasons,
// container statuses), and PodWithStatus puts it on the pod's manifest, as
// podkit status -o json and podkit get pod -o yaml print it.
//
// # Refuse rather than run something else
//
// Load is strict. A field that the v1 Pod type does not have is an error
// naming its path (spec.containers[0].imagePullPolicyy: unknown field), as
// are a key given twice, a value of the wrong type, and for Load a kind
// other than Pod and input holding several YAML documents (ErrInvalid). A field that podkit cannot honour is refused
// (ErrUnsupported), and one error names every such field, not just the
// first, so a manifest is fixed in one pass. So is a field this package
// does not know, such as one a newer API adds: it is better to refuse a
// manifest than to run something different from what it says. Fields that
// are harmless on one machine, such as scheduling and image pull secrets,
// are accepted with a warning each (Manifest.Warnings). Finally the spec goes
// through pod.New, whose checks look at this machine (a hostPath must exist
// on it); Load never returns a spec that pod.New rejects.
//
// Each warning and error names a Kubernetes field path:
// spec.initContainers[1].livenessProbe.httpGet.port; in a workload, the
// template's (spec.template.spec.containers[0].image), prefixed with
// documents[i] in a file of several documents. A value of the wrong type is
// worded in YAML's terms: "spec.restartPolicy: must be Always, OnFailure or
// Never, got the number 5"; a misspelt field is given the known one it is
// closest to ("unknown field; did you mean imagePullPolicy?").
//
// # Workloads
//
// LoadFile maps the pod template of every workload with the rules below,
// and checks the workload's own fields: a selector matching the template's
// labels, the restart policy its pods must have (Always for a Deployment,
// ReplicaSet, StatefulSet or DaemonSet; OnFailure or Never for a Job), the
// counts and seconds of a Job, a CronJob's schedule and time zone. It
// returns the kind's parameters with the API server's defaults applied
// (Workload.Replicas, JobParams, StatefulSetParams, CronJobParams). Refused
// for now: a Job's podFailurePolicy, successPolicy, backoffLimitPerIndex,
// maxFailedIndexes, completionMode Indexed and suspend: true; a
// StatefulSet's volumeClaimTemplates; a Deployment's paused: true. Rollout
// settings (strategy, updateStrategy, revision history, minReadySeconds)
// are accepted with a warning. Documents of other kinds are skipped, all
// named in one warning. docs/kubernetes.md has the whole table.
//
// # What maps to what
//
//	Kubernetes field                      pod.Spec / pod.Container field
//	metadata.name (required)              Manifest.Name, the name for pod.New
//	spec.containers                       Containers
//	spec.initContainers                   InitContainers; restartPolicy: Always makes a
//	                                      native sidecar (RestartPolicy RestartAlways)
//	spec.restartPolicy                    RestartPolicy
//	spec.terminationGracePeriodSeconds    TerminationGracePeriod
//	spec.activeDeadlineSeconds            ActiveDeadline
//	spec.hostname, spec.hostnameOverride  Hostname (the override wins, as in Kubernetes)
//	spec.shareProcessNamespace            ShareProcessNamespace
//	spec.hostNetwork: true                Network.Mode NetworkHost (the pod keeps its own
//	                                      UTS namespace and hostname)
//	spec.resources (pod-level)            Resources
//	spec.securityContext: runAsUser,      each container's SecurityContext, unless the
//	  runAsGroup, runAsNonRoot,           container sets its own (supplementalGroups
//	  supplementalGroups, seccompProfile  are the pod's in Kubernetes)
//	spec.securityContext.sysctls          Sysctls: the namespaced ones (net.* without
//	                                      hostNetwork, kernel.shm*, kernel.msg*,
//	                                      kernel.sem, fs.mqueue.*, kernel.domainname),
//	                                      set in the pod's namespaces before any
//	                                      container starts
//	spec.os.name: linux                   (nothing: podkit runs Linux processes)
//	spec.volumes: emptyDir (medium ""     Volumes: EmptyDir (Medium, SizeLimit)
//	  or Memory, sizeLimit)
//	spec.volumes: hostPath (path; type    Volumes: HostPath (the type is checked when
//	  checked by Load)                    Load runs: podkit creates nothing on the host)
//	container name                        Name
//	image                                 Image: the pod runs the container from it (an
//	                                      image store, pod.WithImages); without one the
//	                                      container runs the host's programs (a podkit
//	                                      extension, see below)
//	imagePullPolicy (Always,              ImagePullPolicy; empty defaults as the kubelet's
//	  IfNotPresent, Never)                does (Always for :latest or no tag)
//	command, args                         Command, Args ($(VAR) expanded, as the kubelet
//	                                      does); without command the image's entrypoint
//	                                      runs, with args the image's cmd if none
//	env (name and value)                  Env, "NAME=value" ($(VAR) expanded)
//	env valueFrom configMapKeyRef,        Env, from LoadOptions.ConfigMaps and Secrets
//	  secretKeyRef (optional), envFrom    (envFrom: prefix; keys that are no variable
//	  (configMapRef, secretRef, prefix,   name skipped with a warning); a missing one
//	  optional)                           not optional is an error
//	env valueFrom fieldRef:               Env, the value known at load ("default" for
//	  metadata.namespace, labels['k'],    an unset namespace, the host name for
//	  annotations['k'], spec.nodeName,    spec.nodeName)
//	  spec.serviceAccountName
//	env valueFrom fieldRef: metadata.name FieldEnv (pod.FieldPodName, FieldPodUID,
//	  metadata.uid (unless the manifest   FieldPodIP, ...): filled in when the
//	  has one), status.podIP(s),          container starts
//	  status.hostIP(s)
//	env valueFrom resourceFieldRef:       Env: the container's limit (the node's
//	  limits and requests of cpu, memory, allocatable when unset) or request (its
//	  ephemeral-storage; divisor          limit when unset), divided, rounded up
//	volumes: configMap, secret,           Volumes[i].Projected: files written with the
//	  downwardAPI, projected (configMap,  kubelet's atomic-writer layout, mounted
//	  secret, downwardAPI sources):       read-only; secret, downwardAPI and projected
//	  items (key, path, mode),            in memory (Medium Memory), configMap on disk;
//	  defaultMode, optional               labels and annotations files as key="value"
//	                                      lines; a missing source not optional is an
//	                                      error, an optional one an empty volume
//	workingDir                            WorkingDir
//	ports                                 (names resolve the probes' and hooks' named ports)
//	resources.limits.cpu, .memory         Resources.CPULimit (millicores), MemoryLimit (bytes)
//	resources.requests.cpu                Resources.CPURequest (millicores)
//	restartPolicy, restartPolicyRules     RestartPolicy, RestartRules (action Restart)
//	volumeMounts: name, mountPath,        VolumeMounts (subPathExpr expanded with
//	  readOnly, subPath, subPathExpr      the container's env into SubPath)
//	startupProbe, livenessProbe,          StartupProbe, LivenessProbe, ReadinessProbe:
//	  readinessProbe: exec, tcpSocket,    the handlers, InitialDelay, Period, Timeout,
//	  httpGet (path, port, host), grpc    SuccessThreshold, FailureThreshold,
//	  (port, service), the timings,       TerminationGracePeriod
//	  thresholds and
//	  terminationGracePeriodSeconds
//	lifecycle.postStart, .preStop:        Lifecycle.PostStart, PreStop
//	  exec, httpGet, sleep
//	lifecycle.stopSignal                  StopSignal (SIGRTMIN+n and SIGRTMAX-n too)
//	securityContext: runAsUser,           SecurityContext
//	  runAsGroup, allowPrivilegeEscalation,
//	  capabilities (add, drop),
//	  readOnlyRootFilesystem
//	securityContext.seccompProfile        SecurityContext.SeccompProfile: RuntimeDefault
//	  (either level; the container's      (moby's default profile, see docs/security.md)
//	  overrides the pod's)                or Unconfined
//	terminationMessagePath,               TerminationMessagePath (Kubernetes' default,
//	  terminationMessagePolicy            /dev/termination-log, stays empty: podkit's
//	                                      default), TerminationMessagePolicy
//	spec.hostAliases                      HostAliases
//	spec.dnsPolicy, spec.dnsConfig        DNSPolicy (ClusterFirst and
//	                                      ClusterFirstWithHostNet behave as Default,
//	                                      with a warning: no cluster DNS), DNSConfig
//
// A named port of a probe or hook is resolved against the container's
// ports; a name the container does not declare is an error. Kubernetes'
// $(VAR) references in command, args and env values are expanded by Load
// with the kubelet's rules (an unknown reference stays as it is, $$ is $),
// so the spec holds what the kubelet would run. Probe and hook commands
// are not expanded, by Kubernetes either.
//
// # Warnings: accepted, but meaningless on one machine
//
//	metadata (other than name): namespace, labels, annotations, uid, ...
//	  (the downward API reads them)
//	status
//	spec: nodeSelector, nodeName, affinity, tolerations, schedulerName,
//	  priorityClassName, priority, preemptionPolicy,
//	  topologySpreadConstraints, schedulingGates, schedulingGroup,
//	  evictionResponders, overhead
//	spec: serviceAccountName, serviceAccount, automountServiceAccountToken
//	  (no token is mounted), enableServiceLinks
//	spec: imagePullSecrets (registry credentials come from the Docker
//	  config file), subdomain, readinessGates
//	spec.dnsPolicy: ClusterFirst, ClusterFirstWithHostNet (mapped; no
//	  cluster DNS: the host's resolver configuration)
//	spec.securityContext: fsGroupChangePolicy, seLinuxChangePolicy
//	container: ports, resizePolicy
//	container resources.requests: memory, ephemeral-storage (podkit reserves
//	  nothing)
//	emptyDir sizeLimit with the default medium (not enforced: podkit bounds
//	  a Memory emptyDir only)
//
// # Refused: podkit cannot honour them
//
//	spec: hostPID: true, hostIPC: true, hostUsers: false,
//	  setHostnameAsFQDN: true, os.name other than linux
//	spec: ephemeralContainers, runtimeClassName, resourceClaims
//	spec.securityContext: fsGroup; sysctls that are not namespaced (they
//	  would change the host's kernel), and net.* with hostNetwork: true
//	spec.initContainers[*].restartPolicy other than Always, unless it is
//	  what the pod's policy gives an init container anyway (OnFailure, or
//	  Never in a pod whose policy is Never)
//	container: neither image nor command (nothing to run), env valueFrom
//	  fileKeyRef, a fieldRef or resourceFieldRef the list above does not
//	  name, a $(VAR) reference to a variable filled in at start,
//	  volumeDevices, stdin, stdinOnce, tty: true
//	  (an imagePullPolicy other than Always, IfNotPresent and Never is
//	  invalid)
//	container ports: a hostPort of a protocol other than TCP, a hostIP
//	  without a hostPort
//	resources: limits other than cpu and memory (ephemeral-storage,
//	  hugepages, extended resources), requests other than cpu, memory and
//	  ephemeral-storage, claims
//	restartPolicyRules: an action other than Restart
//	volumes: every source but emptyDir, hostPath, configMap, secret,
//	  downwardAPI and projected; projected sources serviceAccountToken,
//	  clusterTrustBundle, podCertificate; emptyDir medium other
//	  than "" and Memory, mode other than 0777; hostPath type
//	  DirectoryOrCreate or FileOrCreate for a path that does not exist
//	volumeMounts: mountPropagation other than None, recursiveReadOnly
//	  other than Disabled, bindMountOptions
//	probes and hooks: httpGet scheme HTTPS, httpHeaders, protocol HTTP2;
//	  grpc mode TLS; a tcpSocket hook
//	securityContext (either level): privileged: true, seccompProfile of
//	  type Localhost (podkit has no profile directory), appArmorProfile
//	  other than Unconfined, seLinuxOptions, windowsOptions, procMount
//	  other than Default
//	any field not named in this documentation
//
// # Export
//
// Export maps every field of pod.Spec back, so that Load gives the same
// spec again; Container.RootFS, SharedHostFilesystem, Stdout and Stderr only
// make sense on this machine and are left out. A process container needs an
// Image: one without, which runs the host's program here, is named an image
// that holds the program by ExportOptions.Images (podkit export --image
// CONTAINER=IMAGE), or the export fails naming the container. An
// in-process container (Func) becomes a container of the podkit image
// (ExportOptions.PodkitImage, DefaultPodkitImage by default) that runs
// "podkit" with the container's ExportArgs, with every volume of the pod
// mounted at pod.ExportVolumesDir/<volume name>, where the podkit
// subcommands resolve their --volume NAME arguments (pod.VolumeDir); without
// ExportArgs it cannot be exported.
// A Func probe has no Kubernetes counterpart and is refused. (Load reads
// such a container back as a process container running podkit, whose
// mount paths under pod.ExportVolumesDir must then exist on the machine.)
//
// A projected volume exports as a configMap volume (on disk) or a projected
// volume of secret and downwardAPI sources (Memory), naming the ConfigMap
// or Secret "<pod>-<volume>" that ExportConfig returns; a pod field in a
// volume on disk is refused. FieldEnv exports as env valueFrom fieldRef.
//
// A pod on the host's network (NetworkHost) exports as hostNetwork: true,
// an isolated one as Kubernetes' default, a pod on the cluster's network.
// A bridged pod is refused: Kubernetes has no such mode, and Load could
// not give it back. With hostNetwork: true a hostPort must equal its
// containerPort, as in Kubernetes: the container binds the host port.
//
// Load checks every count of seconds (grace periods, active deadline,
// sleeps) against a range before converting it, up to pod.MaxDuration, and
// says so in seconds: "spec.activeDeadlineSeconds: 18446744074 is out of
// range (1 to 3153600000 seconds)".
//
// Kubernetes counts probe timings, grace periods, deadlines and sleeps in
// whole seconds. Export refuses a duration that is not a whole number of
// seconds, naming the field, rather than round it: a rounded timeout or
// period would be a different probe. Also refused: a pids limit (Kubernetes
// has none per pod or container), a gRPC probe's Host (the kubelet always
// probes the pod's IP), signal 32 or 33 as a stop signal (they have no
// Kubernetes name), and containers whose supplementary groups differ (they
// are the pod's in Kubernetes). Command, args and env values are escaped
// (each $ followed by "(" or "$" is doubled) so that the kubelet's
// expansion leaves them as they are. A container with restart rules but no restart policy
// gets the policy it follows anyway stated, as Kubernetes requires; a stop
// signal makes the pod name its OS (spec.os.name: linux), as Kubernetes
// requires too. Every exported pod passes Validate.
//
// # Where podkit differs
//
//   - A container without an image is a podkit extension (Kubernetes
//     requires one): it runs Command from the host's filesystem, seen
//     through a private writable layer, unless SharedHostFilesystem lets it
//     write the host's files. Such a manifest exports only with an image
//     named for each such container (podkit export --image).
//   - Images are pulled with the credentials of the Docker config file
//     ($DOCKER_CONFIG or ~/.docker/config.json), not imagePullSecrets; an
//     image with the tag latest (or none) that exists only in the local
//     store needs imagePullPolicy: IfNotPresent, as with kind, since the
//     default for it is Always.
//   - Containers see /etc/hosts and resolv.conf written from the host's
//     resolver configuration, and the pod's network namespace has only its
//     loopback, so no port is reachable from outside the pod, unless
//     hostNetwork: true puts the pod on the host's network. Such a pod
//     keeps its own hostname, where Kubernetes gives it the node's.
//   - A container without a securityContext keeps the supervising
//     program's user and capabilities; Kubernetes' runtimes drop to a
//     default set of capabilities. Supplementary groups are exactly the
//     ones given: none are added from the user's groups on the host.
//   - HTTP probes and hooks without a host go to 127.0.0.1, the pod's own
//     loopback, where Kubernetes uses the pod's IP: the same server.
//   - The environment of a container is PATH and HOSTNAME, then its
//     image's, then its env, with no variables from services.
//   - Every namespaced sysctl a manifest asks for is set, as a kubelet
//     whose administrator allows them all would: podkit has no cluster
//     administrator, and the one who runs it is root on the machine. A
//     kubelet sets only its safe sysctls (kernel.shm_rmid_forced,
//     net.ipv4.ip_local_port_range, net.ipv4.ip_local_reserved_ports,
//     net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range,
//     net.ipv4.tcp_syncookies, net.ipv4.tcp_keepalive_time,
//     net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes,
//     net.ipv4.tcp_fin_timeout, net.ipv4.tcp_rmem, net.ipv4.tcp_wmem)
//     unless --allowed-unsafe-sysctls allows others, so Load warns about
//     each other one: the manifest would not run on a default cluster.
package kube
