package kube_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/kube"
	"github.com/podkit/podkit/pod"
)

func TestLoadDNS(t *testing.T) {
	m, err := kube.Load(manifest(`  hostAliases:
  - ip: 192.0.2.10
    hostnames: [db, db.example.com]
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.0.2.53]
    searches: [example.com]
    options: [{name: ndots, value: "2"}, {name: edns0}]
  containers:
  - name: c
    command: ["true"]
`))
	require.NoError(t, err)
	require.Empty(t, m.Warnings)
	require.Equal(t, []pod.HostAlias{{IP: "192.0.2.10", Hostnames: []string{"db", "db.example.com"}}}, m.Spec.HostAliases)
	require.Equal(t, pod.DNSNone, m.Spec.DNSPolicy)
	require.Equal(t, &pod.DNSConfig{Nameservers: []string{"192.0.2.53"}, Searches: []string{"example.com"},
		Options: []pod.DNSOption{{Name: "ndots", Value: "2"}, {Name: "edns0"}}}, m.Spec.DNSConfig)

	m, err = kube.Load(manifest(`  dnsPolicy: ClusterFirst
  containers:
  - name: c
    command: ["true"]
`))
	require.NoError(t, err)
	require.Equal(t, []string{"spec.dnsPolicy: ClusterFirst: podkit has no cluster DNS: the pod gets the host's resolver configuration, as the kubelet falls back to Default without one"}, m.Warnings)

	_, err = kube.Load(manifest(`  dnsPolicy: None
  hostAliases: [{ip: 192.0.2.300, hostnames: [db]}]
  containers:
  - name: c
    command: ["true"]
`))
	require.ErrorIs(t, err, pod.ErrInvalidSpec)
	require.ErrorContains(t, err, `hostAliases[0].ip: invalid value "192.0.2.300"`)
	require.ErrorContains(t, err, `dnsConfig.nameservers: invalid value "[]": at least one nameserver when dnsPolicy is "None"`)
}
