package pod

import "strconv"

// The DNS-1123 checks of Kubernetes' names (k8s.io/apimachinery's
// validation.IsDNS1123Label and IsDNS1123Subdomain), with the same
// messages, so that pod does not depend on apimachinery for two checks.

const (
	dnsLabelMaxLength     = 63
	dnsSubdomainMaxLength = 253
	dnsLabelFmt           = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dnsSubdomainFmt       = dnsLabelFmt + "(\\." + dnsLabelFmt + ")*"
	dnsLabelErrMsg        = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '" + dnsLabelFmt + "')"
	dnsSubdomainErrMsg    = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '" + dnsSubdomainFmt + "')"
)

// dnsLabelErrors returns what is wrong with value as an RFC 1123 label
// (a container, volume or host name): nothing for a valid one.
func dnsLabelErrors(value string) []string {
	var errs []string
	if len(value) > dnsLabelMaxLength {
		errs = append(errs, maxLenError(dnsLabelMaxLength))
	}
	if !isDNSLabel(value) {
		if isDNSSubdomain(value) {
			// A valid subdomain of the right length: only its dots are wrong.
			errs = append(errs, "must not contain dots")
		} else {
			errs = append(errs, dnsLabelErrMsg)
		}
	}
	return errs
}

// dnsSubdomainErrors returns what is wrong with value as an RFC 1123
// subdomain (a pod name): nothing for a valid one.
func dnsSubdomainErrors(value string) []string {
	var errs []string
	if len(value) > dnsSubdomainMaxLength {
		errs = append(errs, maxLenError(dnsSubdomainMaxLength))
	}
	if !isDNSSubdomain(value) {
		errs = append(errs, dnsSubdomainErrMsg)
	}
	return errs
}

func maxLenError(n int) string {
	return "must be no more than " + strconv.Itoa(n) + " characters"
}

// isDNSLabel reports whether s matches dnsLabelFmt, whatever its length.
func isDNSLabel(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isDNSSubdomain reports whether s matches dnsSubdomainFmt: labels joined
// by dots, whatever their lengths.
func isDNSSubdomain(s string) bool {
	for {
		i := 0
		for i < len(s) && s[i] != '.' {
			i++
		}
		if !isDNSLabel(s[:i]) {
			return false
		}
		if i == len(s) {
			return true
		}
		s = s[i+1:]
	}
}

func isAlnum(b byte) bool { return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' }
