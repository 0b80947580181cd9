package kube

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/node/util/sysctl"

	"github.com/podkit/podkit/pod"
)

// mapSysctls maps the pod's sysctls; pod.New checks their names and
// values. Every namespaced sysctl is set, where a kubelet sets only its
// safe ones unless its administrator allows others: each of those gets a
// warning, since the manifest would not run on a cluster as it is.
func mapSysctls(pr *problems, path string, ks []corev1.Sysctl) []pod.Sysctl {
	var out []pod.Sysctl
	for i, s := range ks {
		out = append(out, pod.Sysctl{Name: s.Name, Value: s.Value})
		if !slices.Contains(safeSysctls, sysctl.NormalizeName(s.Name)) {
			pr.warnf(fmt.Sprintf("%s[%d]", path, i), "%s: set, but a kubelet refuses it unless its --allowed-unsafe-sysctls allows it (it is not one of the safe sysctls)", s.Name)
		}
	}
	return out
}

// safeSysctls are the sysctls a kubelet allows every pod to set (its
// SafeSysctlAllowlist on a recent kernel).
var safeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}
