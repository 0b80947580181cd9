package logs_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/podkit/podkit/adapter/logs"
	"github.com/podkit/podkit/pod"
)

// A log adapter turns an application's mixed output into one JSON form;
// here from a reader, with the records on standard output.
func ExampleAdapter() {
	app := strings.NewReader(`{"level":"info","ts":1732554123.5,"msg":"listening","addr":":8080"}
level=warn ts=2024-11-25T17:02:04Z msg="disk almost full" pct=91
I1125 17:02:05.000000       1 main.go:42] "Pod ready" pod="default/web"
Exception in thread "main" java.lang.IllegalStateException: boom
	at com.example.App.main(App.java:10)
`)
	err := logs.Adapter{
		Reader:    app,
		Format:    logs.FormatAuto,
		Multiline: &logs.Multiline{Indented: true},
		Types:     map[string]logs.FieldType{"pct": logs.Int},
		Drop:      []string{"time"}, // so that the output does not depend on when it runs
		Output:    os.Stdout,
	}.Run(context.Background())
	fmt.Println(err)
	// Output:
	// {"level":"info","msg":"listening","addr":":8080"}
	// {"level":"warn","msg":"disk almost full","pct":91}
	// {"level":"info","msg":"Pod ready","thread":1,"caller":"main.go:42","pod":"default/web"}
	// {"msg":"Exception in thread \"main\" java.lang.IllegalStateException: boom\n\tat com.example.App.main(App.java:10)"}
	// <nil>
}

// A line that does not parse is not dropped: it comes out raw, flagged.
func ExampleParser() {
	p, err := logs.NewParser(logs.Adapter{Format: logs.FormatJSON})
	if err != nil {
		panic(err)
	}
	read := time.Date(2024, 11, 25, 17, 2, 3, 0, time.UTC)
	for _, line := range []string{`{"severity":"W","msg":"slow","ms":1500}`, `Segmentation fault (core dumped)`} {
		for _, r := range p.Parse(logs.Line{Text: line, Stream: "stderr", Time: read}) {
			fmt.Println(string(r.AppendJSON(nil)))
		}
	}
	// Output:
	// {"time":"2024-11-25T17:02:03.000000000Z","level":"warn","msg":"slow","ms":1500,"stream":"stderr"}
	// {"time":"2024-11-25T17:02:03.000000000Z","msg":"Segmentation fault (core dumped)","stream":"stderr","parse_error":true,"error":"json: invalid character 'S' looking for beginning of value"}
}

// The adapter as a sidecar of the application's pod: it follows the
// application's output, across its restarts, and writes the records to its
// own log.
func ExampleAdapter_Container() {
	logs, err := logs.Adapter{FromContainer: "app", Format: logs.FormatJSON, Enrich: true}.Container("log-adapter")
	if err != nil {
		panic(err)
	}
	p, err := pod.New("web", pod.Spec{
		InitContainers: []pod.Container{logs},
		Containers:     []pod.Container{{Name: "app", Command: []string{"/usr/local/bin/app"}}},
	})
	if err != nil {
		panic(err)
	}
	_ = p.Run(context.Background())
	entries, _ := p.Logs("log-adapter", pod.LogOptions{Tail: 10})
	for _, e := range entries {
		fmt.Println(e.Text)
	}
}
