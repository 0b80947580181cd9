package tail_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/podkit/podkit/internal/tail"
)

// A log shipper follows the logs its pod's main container writes into a
// shared volume and stops when its context is cancelled.
func ExampleFollow() {
	vol, err := os.MkdirTemp("", "logs")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(vol)
	if err := os.WriteFile(filepath.Join(vol, "app.log"), []byte("started\nlistening on :8080\n"), 0o644); err != nil {
		panic(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = tail.Follow(ctx, tail.Options{
		Patterns:  []string{filepath.Join(vol, "*.log")},
		FromStart: true,
	}, func(l tail.Line) error {
		fmt.Printf("%s: %s\n", filepath.Base(l.Path), l.Text)
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	fmt.Println("Follow returned", err)
	// Output:
	// app.log: started
	// app.log: listening on :8080
	// Follow returned <nil>
}
