// Package image is podkit's local image store: the images a pod's
// containers run from, as kubelet's image manager and a container
// runtime's image service keep them.
//
// A Store keeps, under one directory (DefaultDir for podkit):
//
//	DIR/lock                    flock: shared for readers, exclusive for index updates
//	DIR/oci/                    an OCI image layout (oci-layout, index.json, blobs/sha256/...)
//	DIR/layers/sha256/<diffID>/ each layer unpacked once, in overlayfs's form
//
// index.json names each image with the annotation
// org.opencontainers.image.ref.name holding its full reference, such as
// "index.docker.io/library/busybox:1.36", so other tools read the store:
//
//	skopeo inspect oci:/var/lib/podkit/images/oci:index.docker.io/library/busybox:1.36
//
// Images enter by Pull (from a registry), Load (a docker-archive, an OCI
// archive or an OCI layout directory) and Import (a root filesystem
// tarball). Every blob is written to a temporary name, checked against
// its digest and only then renamed into place; every layer is unpacked
// into a temporary directory, its uncompressed stream checked against the
// diffID, and renamed into place when complete. An interrupted pull, load
// or unpack therefore leaves nothing a later one trusts; Open and Prune
// remove what it left.
//
// Layers are unpacked lazily: by Pull and Lookup, which return an image
// ready to run, not by Load or Import. A pod.Image returned by Lookup or
// Pull holds a shared flock on each of its layer directories until its
// Release; Remove and Prune skip layers held so.
//
// Store implements pod.ImageStore; give it to pods with pod.WithImages.
// Package imagetest builds test images and runs a local registry.
package image
