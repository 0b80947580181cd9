package memberconf_test

import (
	"fmt"
	"time"

	"github.com/podkit/podkit/internal/memberconf"
)

type Upstream struct {
	URL    string `json:"url"`
	Weight int    `json:"weight,omitempty"`
}

type Proxy struct {
	Listen    string        `json:"listen" help:"address to listen on"`
	Upstreams []Upstream    `json:"upstreams" help:"where to send requests (repeatable)"`
	Timeout   time.Duration `json:"timeout,omitempty" help:"bound of one request"`
}

// A configuration type gives its flags, and the arguments that parse back
// into an equal value.
func Example() {
	cfg := Proxy{Listen: ":8080", Upstreams: []Upstream{{URL: "http://a/?v=2", Weight: 2}}, Timeout: 5 * time.Second}
	args, _ := memberconf.Args(cfg)
	fmt.Println(args)

	var back Proxy
	err := memberconf.Parse("proxy", args, &back)
	fmt.Println(err, back.Upstreams[0].URL, back.Timeout)
	// Output:
	// [--listen=:8080 --upstreams={"url":"http://a/?v=2","weight":2} --timeout=5s]
	// <nil> http://a/?v=2 5s
}
