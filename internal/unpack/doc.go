// Package unpack unpacks OCI image layers into directories that overlayfs
// mounts as they are: the image store calls Layer once per layer, and a
// container's root filesystem is an overlay whose lowerdirs are those
// directories, top layer first.
//
// # Layer semantics
//
// A layer is a tar stream (uncompressed; the caller decompresses and
// verifies it) whose entries are applied in order, as the OCI image-layer
// specification says (https://github.com/opencontainers/image-spec/blob/main/layer.md):
// regular files, directories, symbolic links, hard links (to an earlier
// entry of the same layer), FIFOs and device nodes, with their owner, mode
// (setuid, setgid and sticky included), modification time and the
// extended attributes of their PAX records (SCHILY.xattr.*, among them
// security.capability). A later entry replaces an earlier one of the same
// name, except that a directory stays one and keeps its entries. Names are
// cleaned ("./", "/" and ".." lead nowhere above the layer's root), and
// missing parent directories are made 0755 and owned by root. An entry
// naming the root ("./") gives it its owner, mode and times.
//
// # Overlay form
//
// A whiteout entry .wh.NAME becomes a character device 0/0 named NAME,
// overlayfs's whiteout, and the opaque marker .wh..wh..opq sets
// trusted.overlay.opaque=y on its directory. A whiteout hides the lower
// layers' entry only: when the same layer also has NAME, NAME is kept, and
// a directory becomes opaque instead (which hides the lower layers'
// contents and keeps this layer's). Extended attributes of overlayfs's own
// namespaces (trusted.overlay.*, user.overlay.*) and character devices
// 0/0 in the archive are refused, since they would forge whiteouts and
// overlay metadata.
//
// # Confinement
//
// Layers are untrusted input and Layer runs as root, so every path is
// resolved inside the layer's directory with openat2(2) and
// RESOLVE_IN_ROOT: a symbolic link of the layer, absolute or full of
// "..", resolves as if the directory were "/", whether it is followed as
// a parent of a later entry or as a hard link's target's parent. Each
// entry is then created and changed relative to its parent directory's
// descriptor without following its own final element: files are created
// with O_EXCL and O_NOFOLLOW after removing whatever had their name,
// owners are set with AT_SYMLINK_NOFOLLOW, modes with fchmodat2(2) and
// AT_SYMLINK_NOFOLLOW or on the open file, extended attributes on the open
// file or through /proc/self/fd. A hostile layer therefore writes nothing
// outside the directory: its entries land inside it, or Layer fails with
// an error that names the entry. Names longer than PATH_MAX, and elements
// or nestings the kernel cannot make, fail the same way.
//
// Device nodes need CAP_MKNOD in the initial user namespace; elsewhere
// (in a user namespace, say) an entry that is a device fails with an error
// that says so.
package unpack
