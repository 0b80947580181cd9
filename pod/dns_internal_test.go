package pod

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResolvConf(t *testing.T) {
	host := []byte("# from the host\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch old.example\nsearch lan.example. corp.example\noptions ndots:1 timeout:2\n")
	var many []string
	for range 40 {
		many = append(many, "x.example")
	}
	tests := []struct {
		name     string
		spec     Spec
		want     string
		warnings []string
	}{
		{"host unchanged", Spec{}, string(host), nil},
		{"default policy unchanged", Spec{DNSPolicy: DNSClusterFirst}, string(host), nil},
		{"merged", Spec{DNSPolicy: DNSDefault, DNSConfig: &DNSConfig{
			Nameservers: []string{"10.0.0.2", "10.0.0.3"},
			Searches:    []string{"corp.example", "extra.example"},
			Options:     []DNSOption{{Name: "ndots", Value: "5"}, {Name: "edns0"}},
		}}, "search lan.example corp.example extra.example\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:5 timeout:2 edns0\n", nil},
		{"none", Spec{DNSPolicy: DNSNone, DNSConfig: &DNSConfig{Nameservers: []string{"192.0.2.1"}}}, "nameserver 192.0.2.1\n", nil},
		{"nameservers cut", Spec{DNSConfig: &DNSConfig{Nameservers: []string{"192.0.2.1", "192.0.2.2"}}},
			"search lan.example corp.example\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 192.0.2.1\noptions ndots:1 timeout:2\n",
			[]string{"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.1 10.0.0.2 192.0.2.1"}},
		{"searches cut", Spec{DNSPolicy: DNSNone, DNSConfig: &DNSConfig{Nameservers: []string{"192.0.2.1"}, Searches: append([]string{strings.Repeat("a", 300)}, "b.example")}},
			"search b.example\nnameserver 192.0.2.1\n",
			[]string{"Search Line limits were exceeded, some search paths have been omitted, the applied search line is: b.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := tt.spec.resolvConf(host)
			assert.Equal(t, tt.want, string(got))
			assert.Equal(t, tt.warnings, warnings)
		})
	}
	fitted, cut := fitSearches(many)
	assert.True(t, cut)
	assert.Len(t, fitted, maxDNSSearchPaths)
	var long []string
	for range 9 {
		long = append(long, strings.Repeat("a", 250))
	}
	fitted, cut = fitSearches(long)
	assert.True(t, cut)
	assert.Equal(t, long[:8], fitted, "2048 characters hold 8 domains of 250 and their spaces")
}

func TestHostAliasEntries(t *testing.T) {
	assert.Empty(t, hostAliasEntries(nil))
	assert.Equal(t, "\n# Entries added by HostAliases.\n192.0.2.1\ta\tb\n", string(hostAliasEntries([]HostAlias{{IP: "192.0.2.1", Hostnames: []string{"a", "b"}}})))
}
