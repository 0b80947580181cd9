package kube

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/podkit/podkit/pod"
)

// mapDNS maps hostAliases, dnsPolicy and dnsConfig; pod.New validates
// them as the API server does.
func mapDNS(pr *problems, path string, s *corev1.PodSpec, spec *pod.Spec) {
	for _, a := range s.HostAliases {
		spec.HostAliases = append(spec.HostAliases, pod.HostAlias{IP: a.IP, Hostnames: slices.Clone(a.Hostnames)})
	}
	spec.DNSPolicy = pod.DNSPolicy(s.DNSPolicy)
	switch s.DNSPolicy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		pr.warnf(field(path, "dnsPolicy"), "%s: podkit has no cluster DNS: the pod gets the host's resolver configuration, as the kubelet falls back to Default without one", s.DNSPolicy)
	}
	if c := s.DNSConfig; c != nil {
		dc := &pod.DNSConfig{Nameservers: slices.Clone(c.Nameservers), Searches: slices.Clone(c.Searches)}
		for _, o := range c.Options {
			dc.Options = append(dc.Options, pod.DNSOption{Name: o.Name, Value: ptrValue(o.Value)})
		}
		spec.DNSConfig = dc
	}
}

// exportDNS sets the host aliases and the DNS policy and configuration of
// spec on ps.
func exportDNS(spec pod.Spec, ps *corev1.PodSpec) {
	for _, a := range spec.HostAliases {
		ps.HostAliases = append(ps.HostAliases, corev1.HostAlias{IP: a.IP, Hostnames: slices.Clone(a.Hostnames)})
	}
	ps.DNSPolicy = corev1.DNSPolicy(spec.DNSPolicy)
	if c := spec.DNSConfig; c != nil {
		dc := &corev1.PodDNSConfig{Nameservers: slices.Clone(c.Nameservers), Searches: slices.Clone(c.Searches)}
		for _, o := range c.Options {
			ko := corev1.PodDNSConfigOption{Name: o.Name}
			if o.Value != "" {
				ko.Value = ptr(o.Value)
			}
			dc.Options = append(dc.Options, ko)
		}
		ps.DNSConfig = dc
	}
}
