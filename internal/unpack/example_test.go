package unpack_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/podkit/podkit/internal/unpack"
)

// An image store unpacks each layer of an image into a directory of its
// own; a container's root filesystem is then an overlay of them.
func ExampleLayer() {
	// A layer as a registry serves it, once decompressed: a tar stream.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755})
	motd := "hello from the layer\n"
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/motd", Mode: 0o644, Size: int64(len(motd))})
	tw.Write([]byte(motd))
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "motd", Linkname: "/etc/motd"})
	// Deletes /var/cache from the layers below.
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "var/.wh.cache"})
	tw.Close()

	top, err := os.MkdirTemp("", "layers")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(top)
	dir := filepath.Join(top, "sha256-0123")
	if err := os.Mkdir(dir, 0o755); err != nil {
		panic(err)
	}
	stats, err := unpack.Layer(context.Background(), &layer, dir)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d files, %d directories, %d symbolic links, %d whiteouts, %d bytes\n",
		stats.Files, stats.Dirs, stats.Symlinks, stats.Whiteouts, stats.Bytes)
	b, _ := os.ReadFile(filepath.Join(dir, "etc/motd"))
	fmt.Print(string(b))
	fi, _ := os.Lstat(filepath.Join(dir, "var/cache"))
	whiteout := fi.Mode()&os.ModeCharDevice != 0 && fi.Sys().(*syscall.Stat_t).Rdev == 0
	fmt.Println("var/cache is a whiteout (character device 0/0):", whiteout)
	// Output:
	// 1 files, 1 directories, 1 symbolic links, 1 whiteouts, 21 bytes
	// hello from the layer
	// var/cache is a whiteout (character device 0/0): true
}
