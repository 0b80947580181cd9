package config_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/podkit/podkit/adapter/internal/config"
)

// A configuration type keeps its time.Duration fields, and writes them
// through Duration in its MarshalJSON.
func ExampleDuration() {
	out, _ := json.Marshal(struct {
		Timeout config.Duration `json:"timeout"`
	}{config.Duration(1500 * time.Millisecond)})
	fmt.Println(string(out))

	var in struct {
		Timeout config.Duration `json:"timeout"`
	}
	err := config.DecodeStrict([]byte(`{"timeout":"2m","retries":3}`), &in)
	fmt.Println(err)
	// Output:
	// {"timeout":"1.5s"}
	// json: unknown field "retries"
}

func ExampleCheckAddress() {
	fmt.Println(config.CheckAddress("127.0.0.1:0", true))
	fmt.Println(config.CheckAddress("127.0.0.1:0", false))
	// Output:
	// <nil>
	// "127.0.0.1:0": port "0" is not a port number (1-65535)
}
