package pod

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/validation"
)

var dnsNameCases = []struct {
	name             string
	value            string
	label, subdomain []string
}{
	{"simple", "web", nil, nil},
	{"digits first", "123-abc", nil, nil},
	{"one character", "a", nil, nil},
	{"empty", "", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"label of 63", strings.Repeat("a", 63), nil, nil},
	{"label of 64", strings.Repeat("a", 64), []string{"must be no more than 63 characters"}, nil},
	{"leading dash", "-web", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"trailing dash", "web-", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"inner dashes", "w--b", nil, nil},
	{"upper case", "Web", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"underscore", "my_web", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"dots", "web.example.com", []string{"must not contain dots"}, nil},
	{"leading dot", ".web", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"trailing dot", "web.", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"double dot", "web..example", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"dash before dot", "web-.example", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
	{"dotted and long", strings.Repeat("a", 60) + ".com",
		[]string{"must be no more than 63 characters", "must not contain dots"}, nil},
	// A subdomain's labels may be longer than 63: the regular expression
	// Kubernetes checks with does not bound them.
	{"subdomain with a long label", strings.Repeat("a", 100) + ".com",
		[]string{"must be no more than 63 characters", "must not contain dots"}, nil},
	{"subdomain of 253", strings.Repeat("a.", 126) + "a", []string{"must be no more than 63 characters", "must not contain dots"}, nil},
	{"subdomain of 254", strings.Repeat("a.", 126) + "ab",
		[]string{"must be no more than 63 characters", "must not contain dots"}, []string{"must be no more than 253 characters"}},
	{"long and bad", strings.Repeat("A", 254),
		[]string{"must be no more than 63 characters", dnsLabelErrMsg},
		[]string{"must be no more than 253 characters", dnsSubdomainErrMsg}},
	{"not ASCII", "wéb", []string{dnsLabelErrMsg}, []string{dnsSubdomainErrMsg}},
}

func TestDNSNames(t *testing.T) {
	for _, tc := range dnsNameCases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.label, dnsLabelErrors(tc.value), "label")
			assert.Equal(t, tc.subdomain, dnsSubdomainErrors(tc.value), "subdomain")
		})
	}
}

// The messages are Kubernetes' own, word for word.
func TestDNSNamesMatchKubernetes(t *testing.T) {
	for _, tc := range dnsNameCases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, validation.IsDNS1123Label(tc.value), dnsLabelErrors(tc.value), "label")
			assert.Equal(t, validation.IsDNS1123Subdomain(tc.value), dnsSubdomainErrors(tc.value), "subdomain")
		})
	}
}

func FuzzDNSNamesMatchKubernetes(f *testing.F) {
	for _, tc := range dnsNameCases {
		f.Add(tc.value)
	}
	f.Fuzz(func(t *testing.T, s string) {
		assert.Equal(t, validation.IsDNS1123Label(s), dnsLabelErrors(s), "label")
		assert.Equal(t, validation.IsDNS1123Subdomain(s), dnsSubdomainErrors(s), "subdomain")
	})
}
