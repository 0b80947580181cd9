package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/podkit/podkit/image"
)

// A root filesystem tarball imported into a store, listed and looked up
// ready to run. The same tarball and configuration always give the same
// digest.
func Example() {
	dir, err := os.MkdirTemp("", "images")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := image.Open(filepath.Join(dir, "images"))
	if err != nil {
		log.Fatal(err)
	}

	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	hello := []byte("hello\n")
	tw.WriteHeader(&tar.Header{Name: "etc/hello", Mode: 0o644, Size: int64(len(hello))})
	tw.Write(hello)
	tw.Close()
	if _, err := s.Import(ctx, &rootfs, "example.com/hello:1", image.ImportConfig{Cmd: []string{"cat", "/etc/hello"}}); err != nil {
		log.Fatal(err)
	}

	list, err := s.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, img := range list {
		// The digest depends on the architecture recorded in the
		// image's configuration, so it is not printed here.
		fmt.Println(img.Names, img.Size)
	}
	img, err := s.Lookup(ctx, "example.com/hello:1")
	if err != nil {
		log.Fatal(err)
	}
	defer img.Release()
	b, _ := os.ReadFile(filepath.Join(img.Layers[0], "etc/hello"))
	fmt.Printf("%v %q\n", img.Config.Cmd, b)
	// Output:
	// [example.com/hello:1] 2048
	// [cat /etc/hello] "hello\n"
}
