package pod_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/pod"
)

// TestHostAliasesAndDNSConfig reads /etc/hosts and /etc/resolv.conf from
// inside containers, one run from an image and one seeing the host's
// filesystem through a private layer: both get the pod's files, with the
// host aliases in the kubelet's section and the resolver configuration of
// dnsPolicy None.
func TestHostAliasesAndDNSConfig(t *testing.T) {
	store := &layerStore{images: map[string]pod.Image{"busybox:1": busyboxImage(t)}}
	show := []string{"sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf"}
	p, _, _ := startPod(t, "dns", pod.Spec{
		RestartPolicy: pod.RestartNever,
		Hostname:      "named",
		HostAliases: []pod.HostAlias{
			{IP: "192.0.2.10", Hostnames: []string{"db", "db.example.com"}},
			{IP: "2001:db8::1", Hostnames: []string{"cache"}},
		},
		DNSPolicy: pod.DNSNone,
		DNSConfig: &pod.DNSConfig{
			Nameservers: []string{"192.0.2.53", "192.0.2.54"},
			Searches:    []string{"ns1.svc.cluster.example", "example.com."},
			Options:     []pod.DNSOption{{Name: "ndots", Value: "2"}, {Name: "edns0"}},
		},
		Containers: []pod.Container{
			{Name: "image", Image: "busybox:1", Command: show},
			{Name: "host", Command: show},
		},
	}, pod.WithImages(store))
	require.NoError(t, p.Wait())
	for _, c := range []string{"image", "host"} {
		out := strings.Join(logText(t, p, c, pod.LogOptions{}), "\n") + "\n"
		hosts, resolv, ok := strings.Cut(out, "---\n")
		require.True(t, ok, "%s: %q", c, out)
		assert.Contains(t, hosts, "127.0.0.1\tlocalhost\n", c)
		assert.Contains(t, hosts, "\tnamed\n", c)
		assert.True(t, strings.HasSuffix(hosts, "\n# Entries added by HostAliases.\n"+
			"192.0.2.10\tdb\tdb.example.com\n"+
			"2001:db8::1\tcache\n"), "%s: %q", c, hosts)
		assert.Equal(t, "search ns1.svc.cluster.example example.com.\n"+
			"nameserver 192.0.2.53\n"+
			"nameserver 192.0.2.54\n"+
			"options ndots:2 edns0\n", resolv, c)
	}
}

func TestDNSValidation(t *testing.T) {
	long := make([]string, 33)
	for i := range long {
		long[i] = "d.example"
	}
	tests := []struct {
		name string
		spec pod.Spec
		want []string
	}{
		{"bad alias", pod.Spec{HostAliases: []pod.HostAlias{{IP: "192.0.2.300", Hostnames: []string{"Bad_Name"}}, {IP: "192.0.2.1"}}},
			[]string{`hostAliases[0].ip: invalid value "192.0.2.300": must be a valid IP address`,
				`hostAliases[0].hostnames[0]: invalid value "Bad_Name"`,
				`hostAliases[1].hostnames: invalid value "[]": at least one host name`}},
		{"bad policy", pod.Spec{DNSPolicy: "Cluster"}, []string{`dnsPolicy: invalid value "Cluster"`}},
		{"none without nameservers", pod.Spec{DNSPolicy: pod.DNSNone},
			[]string{`dnsConfig.nameservers: invalid value "[]": at least one nameserver when dnsPolicy is "None"`}},
		{"too many", pod.Spec{DNSConfig: &pod.DNSConfig{Nameservers: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}, Searches: long}},
			[]string{`dnsConfig.nameservers: invalid value "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4": must not have more than 3 nameservers`,
				`dnsConfig.searches: invalid value "33": must not have more than 32 search paths`}},
		{"too long", pod.Spec{DNSConfig: &pod.DNSConfig{Searches: []string{strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63),
			strings.Repeat("d", 2000)}}},
			[]string{`dnsConfig.searches: invalid value "2192 characters": must not have more than 2048 characters`,
				`dnsConfig.searches[1]: invalid value "ddd`}},
		{"bad entries", pod.Spec{DNSConfig: &pod.DNSConfig{Nameservers: []string{"ns.example"}, Searches: []string{"-bad"},
			Options: []pod.DNSOption{{Value: "1"}, {Name: "nd ots"}}}},
			[]string{`dnsConfig.nameservers[0]: invalid value "ns.example": must be a valid IP address`,
				`dnsConfig.searches[0]: invalid value "-bad"`,
				`dnsConfig.options[0].name: invalid value "": required`,
				`dnsConfig.options[1]: invalid value "nd ots:"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			spec.Containers = []pod.Container{{Name: "c", Command: []string{"true"}}}
			_, err := pod.New("p", spec)
			require.ErrorIs(t, err, pod.ErrInvalidSpec)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
