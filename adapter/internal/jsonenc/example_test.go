package jsonenc_test

import (
	"fmt"
	"time"

	"github.com/podkit/podkit/adapter/internal/jsonenc"
)

func ExampleAppendString() {
	b := jsonenc.AppendString(nil, "tab\there, \"quoted\", bad byte \xff")
	fmt.Println(string(b))
	// Output: "tab\there, \"quoted\", bad byte \ufffd"
}

func ExampleAppendTime() {
	t := time.Date(2024, 11, 25, 18, 2, 3, 123456000, time.FixedZone("CET", 3600))
	fmt.Println(string(jsonenc.AppendTime(nil, t)))
	// Output: 2024-11-25T17:02:03.123456000Z
}

func ExampleScanObject() {
	ok := jsonenc.ScanObject(`{"level":"info","n":12,"tags":["a"]}`, func(key string, v any) {
		fmt.Printf("%s=%v (%T)\n", key, v, v)
	})
	fmt.Println(ok)
	// Output:
	// level=info (string)
	// n=12 (json.Number)
	// tags=[a] ([]interface {})
	// true
}
