package kube

// The fields of each Kubernetes struct that the mapping code does not read
// itself: a warning when they are harmless on one machine, a refusal when
// podkit cannot honour them. A field in neither the mapping code nor these
// tables is refused too (see problems.others). The package documentation's
// tables say the same; keep them in step.

const (
	scheduling    = "ignored: scheduling does not apply, podkit runs the pod on this machine"
	noServices    = "ignored: podkit has no API server, services or service accounts"
	noPullSecrets = "ignored: podkit takes registry credentials from the Docker config file ($DOCKER_CONFIG or ~/.docker/config.json)"
	noDNS         = "ignored: the pod uses the host's resolver configuration"
	informative   = "ignored: podkit keeps no object metadata"
)

var metadataRules = map[string]rule{
	"generateName":               {warn: informative},
	"namespace":                  {warn: "ignored: podkit has no namespaces of objects"},
	"selfLink":                   {warn: informative},
	"uid":                        {warn: informative},
	"resourceVersion":            {warn: informative},
	"generation":                 {warn: informative},
	"creationTimestamp":          {warn: informative},
	"deletionTimestamp":          {warn: informative},
	"deletionGracePeriodSeconds": {warn: informative},
	"labels":                     {warn: informative},
	"annotations":                {warn: informative},
	"ownerReferences":            {warn: informative},
	"finalizers":                 {warn: informative},
	"managedFields":              {warn: informative},
}

var podSpecRules = map[string]rule{
	"ephemeralContainers":          {refuse: "podkit has no ephemeral containers (use (*pod.Pod).Exec)"},
	"subdomain":                    {warn: noDNS},
	"nodeSelector":                 {warn: scheduling},
	"nodeName":                     {warn: scheduling},
	"affinity":                     {warn: scheduling},
	"tolerations":                  {warn: scheduling},
	"schedulerName":                {warn: scheduling},
	"priorityClassName":            {warn: scheduling},
	"priority":                     {warn: scheduling},
	"preemptionPolicy":             {warn: scheduling},
	"topologySpreadConstraints":    {warn: scheduling},
	"schedulingGates":              {warn: scheduling},
	"schedulingGroup":              {warn: scheduling},
	"evictionResponders":           {warn: scheduling},
	"overhead":                     {warn: scheduling},
	"serviceAccountName":           {warn: noServices},
	"serviceAccount":               {warn: noServices},
	"automountServiceAccountToken": {warn: noServices + "; no token is mounted"},
	"enableServiceLinks":           {warn: noServices},
	"imagePullSecrets":             {warn: noPullSecrets},
	"readinessGates":               {warn: "ignored: nothing sets their conditions, podkit's Ready counts the containers only"},
	"runtimeClassName":             {refuse: "podkit runs containers as host processes, with no runtime class"},
	"resourceClaims":               {refuse: "podkit has no dynamic resource allocation"},
}

var containerRules = map[string]rule{
	"resizePolicy":  {warn: "ignored: podkit resizes no container in place"},
	"volumeDevices": {refuse: "podkit has no block volumes"},
}

var podSecurityRules = map[string]rule{
	"fsGroup":             {refuse: "podkit does not change the ownership of volumes"},
	"fsGroupChangePolicy": {warn: "ignored: podkit does not change the ownership of volumes"},
	"seLinuxChangePolicy": {warn: "ignored: podkit does not relabel volumes"},
}

var containerSecurityRules = map[string]rule{}

var volumeRules = map[string]rule{}

var volumeMountRules = map[string]rule{
	"bindMountOptions": {refuse: "podkit takes no bind mount options"},
}

var probeRules = map[string]rule{}

var httpGetRules = map[string]rule{
	"httpHeaders": {refuse: "podkit sends no custom headers"},
}

var resourceRules = map[string]rule{
	"claims": {refuse: "podkit has no dynamic resource allocation"},
}

var portRules = map[string]rule{}
