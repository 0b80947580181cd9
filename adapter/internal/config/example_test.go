package config_test

import (
	"fmt"

	"github.com/podkit/podkit/adapter/internal/config"
)

func ExampleCheckAddress() {
	fmt.Println(config.CheckAddress("127.0.0.1:0", true))
	fmt.Println(config.CheckAddress("127.0.0.1:0", false))
	// Output:
	// <nil>
	// "127.0.0.1:0": port "0" is not a port number (1-65535)
}
