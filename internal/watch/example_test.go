package watch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podkit/podkit/internal/watch"
)

// A config reloader: an editor saves the file twice in quick succession, and
// the reloader reloads once, with the final content. A real one would send
// SIGHUP to the main container instead of printing, and keep watching.
func Example() {
	dir, err := os.MkdirTemp("", "watch-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(cfg, []byte("level=info\n"), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = watch.Watch(ctx, watch.Options{
		Path:     cfg,
		Debounce: 20 * time.Millisecond,
		Ready: func() {
			_ = os.WriteFile(cfg, []byte("level=debug\n"), 0o644)
			_ = os.WriteFile(cfg, []byte("level=warn\n"), 0o644)
		},
	}, func() error {
		data, err := os.ReadFile(cfg)
		if err != nil {
			return err
		}
		fmt.Printf("reload with %s", data)
		cancel()
		return nil
	})
	fmt.Println("stopped:", err)
	// Output:
	// reload with level=warn
	// stopped: <nil>
}
