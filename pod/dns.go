package pod

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// HostAlias is a line the pod's /etc/hosts gains, as Kubernetes'
// hostAliases: IP followed by its host names.
type HostAlias struct {
	IP        string
	Hostnames []string
}

// DNSPolicy says where the pod's /etc/resolv.conf comes from, as
// Kubernetes' dnsPolicy.
type DNSPolicy string

const (
	// DNSClusterFirst asks for the cluster's DNS server. podkit has no
	// cluster DNS, so it behaves as DNSDefault, as the kubelet falls back
	// to Default when it has no cluster DNS. The default.
	DNSClusterFirst DNSPolicy = "ClusterFirst"
	// DNSClusterFirstWithHostNet is ClusterFirst for a pod on the host's
	// network: DNSDefault here too.
	DNSClusterFirstWithHostNet DNSPolicy = "ClusterFirstWithHostNet"
	// DNSDefault takes the host's resolver configuration (with a stub
	// resolver on the host's loopback replaced by its upstream servers),
	// with DNSConfig merged into it.
	DNSDefault DNSPolicy = "Default"
	// DNSNone takes DNSConfig alone, which must name a nameserver.
	DNSNone DNSPolicy = "None"
)

// DNSConfig adds to the resolver configuration the DNSPolicy gives, as
// Kubernetes' dnsConfig: nameservers and search domains are appended
// (duplicates dropped), and options replace those of the same name.
type DNSConfig struct {
	// Nameservers are IP addresses; at most 3.
	Nameservers []string
	// Searches are DNS-1123 subdomains, each with an optional trailing
	// dot; at most 32, 2048 characters in all.
	Searches []string
	// Options are resolv.conf options, such as {Name: "ndots", Value: "2"}.
	Options []DNSOption
}

// DNSOption is a resolv.conf option: Name, or Name:Value when Value is
// set.
type DNSOption struct {
	Name  string
	Value string
}

// The kubelet's limits of a resolver configuration.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

func (c *DNSConfig) clone() *DNSConfig {
	if c == nil {
		return nil
	}
	return &DNSConfig{Nameservers: slices.Clone(c.Nameservers), Searches: slices.Clone(c.Searches), Options: slices.Clone(c.Options)}
}

func cloneHostAliases(as []HostAlias) []HostAlias {
	out := slices.Clone(as)
	for i := range out {
		out[i].Hostnames = slices.Clone(out[i].Hostnames)
	}
	return out
}

// validateDNS checks hostAliases, dnsPolicy and dnsConfig as the API
// server validates them.
func (s Spec) validateDNS(errs *fieldErrors) {
	for i, a := range s.HostAliases {
		field := fmt.Sprintf("hostAliases[%d]", i)
		if ip, err := netip.ParseAddr(a.IP); err != nil || ip.Zone() != "" {
			errs.add(field+".ip", a.IP, "must be a valid IP address")
		}
		if len(a.Hostnames) == 0 {
			errs.add(field+".hostnames", "[]", "at least one host name")
		}
		for j, h := range a.Hostnames {
			for _, msg := range dnsSubdomainErrors(h) {
				errs.add(fmt.Sprintf("%s.hostnames[%d]", field, j), h, msg)
			}
		}
	}
	switch s.DNSPolicy {
	case "", DNSClusterFirst, DNSClusterFirstWithHostNet, DNSDefault, DNSNone:
	default:
		errs.add("dnsPolicy", string(s.DNSPolicy), `must be "ClusterFirst", "ClusterFirstWithHostNet", "Default" or "None"`)
	}
	c := s.DNSConfig
	if s.DNSPolicy == DNSNone && (c == nil || len(c.Nameservers) == 0) {
		errs.add("dnsConfig.nameservers", "[]", `at least one nameserver when dnsPolicy is "None"`)
	}
	if c == nil {
		return
	}
	if len(c.Nameservers) > maxDNSNameservers {
		errs.add("dnsConfig.nameservers", strings.Join(c.Nameservers, " "), fmt.Sprintf("must not have more than %d nameservers", maxDNSNameservers))
	}
	for i, ns := range c.Nameservers {
		if _, err := netip.ParseAddr(ns); err != nil {
			errs.add(fmt.Sprintf("dnsConfig.nameservers[%d]", i), ns, "must be a valid IP address")
		}
	}
	if len(c.Searches) > maxDNSSearchPaths {
		errs.add("dnsConfig.searches", fmt.Sprint(len(c.Searches)), fmt.Sprintf("must not have more than %d search paths", maxDNSSearchPaths))
	}
	if n := len(strings.Join(c.Searches, " ")); n > maxDNSSearchListChars {
		errs.add("dnsConfig.searches", fmt.Sprintf("%d characters", n), fmt.Sprintf("must not have more than %d characters (including spaces) in the search list", maxDNSSearchListChars))
	}
	for i, d := range c.Searches {
		for _, msg := range dnsSubdomainErrors(strings.TrimSuffix(d, ".")) {
			errs.add(fmt.Sprintf("dnsConfig.searches[%d]", i), d, msg)
		}
	}
	for i, o := range c.Options {
		field := fmt.Sprintf("dnsConfig.options[%d]", i)
		switch {
		case o.Name == "":
			errs.add(field+".name", "", "required")
		case strings.ContainsAny(o.Name+o.Value, " \t\n\x00") || strings.Contains(o.Name, ":"):
			errs.add(field, o.Name+":"+o.Value, "must not contain white space, and the name no ':'")
		}
	}
}

// customEtc reports whether the pod's /etc files differ from the defaults
// by its own fields: then every container with a root of its own gets
// them, not only those run from an image.
func (s Spec) customEtc() bool {
	return len(s.HostAliases) > 0 || s.DNSConfig != nil || s.DNSPolicy == DNSNone
}

// hostAliasEntries is the section hostAliases add to /etc/hosts, as the
// kubelet writes it: each alias on a line of its own.
func hostAliasEntries(as []HostAlias) []byte {
	if len(as) == 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range as {
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
	return b.Bytes()
}

// resolvConf is the pod's /etc/resolv.conf for the pod's DNS policy and
// configuration; host is the host's, as podResolvConf reads it. With the
// host's configuration and no DNSConfig it is host unchanged; otherwise it
// is written as the kubelet's container runtimes write it: search,
// nameserver and options lines, after the kubelet's merge and limits.
// warnings say what the limits cut off, as the kubelet's DNSConfigForming
// events say it.
func (s Spec) resolvConf(host []byte) (data []byte, warnings []string) {
	if s.DNSPolicy != DNSNone && s.DNSConfig == nil {
		return host, nil
	}
	var servers, searches, options []string
	if s.DNSPolicy != DNSNone {
		servers, searches, options = parseResolvConf(host)
	}
	if c := s.DNSConfig; c != nil {
		servers = dedupe(append(servers, c.Nameservers...))
		searches = dedupe(append(searches, c.Searches...))
		options = mergeDNSOptions(options, c.Options)
	}
	if len(servers) > maxDNSNameservers {
		servers = servers[:maxDNSNameservers]
		warnings = append(warnings, "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "+strings.Join(servers, " "))
	}
	if fitted, cut := fitSearches(searches); cut {
		searches = fitted
		warnings = append(warnings, "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: "+strings.Join(searches, " "))
	}
	var b bytes.Buffer
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	for _, ns := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes(), warnings
}

// parseResolvConf reads nameservers (they accumulate), the search list and
// the options (the last line of each wins) of a resolv.conf, as the
// kubelet reads the host's; trailing dots of search domains are dropped.
func parseResolvConf(data []byte) (servers, searches, options []string) {
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) > 1 {
				servers = append(servers, fields[1])
			}
		case "search":
			searches = searches[:0]
			for _, d := range fields[1:] {
				searches = append(searches, strings.TrimSuffix(d, "."))
			}
		case "options":
			options = append([]string(nil), fields[1:]...)
		}
	}
	return servers, searches, options
}

// mergeDNSOptions sets opts over base: an option of the same name is
// replaced in its place, a new one appended.
func mergeDNSOptions(base []string, opts []DNSOption) []string {
	out := append([]string(nil), base...)
	for _, o := range opts {
		s := o.Name
		if o.Value != "" {
			s += ":" + o.Value
		}
		i := slices.IndexFunc(out, func(b string) bool { name, _, _ := strings.Cut(b, ":"); return name == o.Name })
		if i >= 0 {
			out[i] = s
		} else {
			out = append(out, s)
		}
	}
	return out
}

// fitSearches cuts a search list to the kubelet's limits: 32 domains, none
// longer than 253 characters, 2048 characters in all. cut reports whether
// anything was cut.
func fitSearches(searches []string) (fitted []string, cut bool) {
	if len(searches) > maxDNSSearchPaths {
		searches, cut = searches[:maxDNSSearchPaths], true
	}
	for _, d := range searches {
		if len(d) > dnsSubdomainMaxLength {
			cut = true
			continue
		}
		fitted = append(fitted, d)
	}
	for len(fitted) > 0 && len(strings.Join(fitted, " ")) > maxDNSSearchListChars {
		fitted, cut = fitted[:len(fitted)-1], true
	}
	return fitted, cut
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
