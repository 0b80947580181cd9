package image_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/podkit/podkit/image"
)

// childEnv names the store directory a re-executed test binary imports
// images into, as a second process sharing the store.
const childEnv = "PODKIT_IMAGE_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := child(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// child imports images named child:N into the store in dir, pruning
// between them.
func child(dir string) error {
	s, err := image.Open(dir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := range concurrentImages {
		if _, err := s.Import(ctx, bytes.NewReader(rootfsN("child", i)), fmt.Sprintf("child:%d", i), image.ImportConfig{}); err != nil {
			return err
		}
		if _, err := s.Prune(ctx); err != nil {
			return err
		}
	}
	return nil
}
