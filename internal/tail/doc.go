// Package tail follows log files the way a log-shipping sidecar does: the
// logging-agent sidecar of Kubernetes' logging architecture (a fluent-bit
// or Filebeat container that tails files the application writes into a
// shared emptyDir and forwards them). Follow watches every file matching a
// set of glob patterns, including files that appear later, and hands each
// line to a callback.
//
// # Guarantees
//
// Within one call of Follow:
//
//   - The lines of one file are emitted in the order they were written, each
//     exactly once. Lines of different files are interleaved in no
//     particular order.
//   - A line is emitted only once its newline has been read. A partial line
//     (no newline yet) is held, and emitted as it is when its file is
//     truncated, when its file is dropped (deleted, or rotated away and
//     drained) or when Follow ends. Text never contains the newline; every
//     other byte, '\r' and invalid UTF-8 included, is passed through.
//   - Memory per file is bounded: a line longer than Options.MaxLineBytes is
//     emitted as consecutive chunks of at most that many bytes.
//   - Rotation by rename (logrotate's "create" mode, or a writer that
//     reopens by name) loses nothing: files are tracked by device and inode,
//     not by name, so the renamed file is still read through its open file
//     descriptor, and the new file at the old name is read from its
//     beginning once the old one is drained. The old file is considered
//     drained when the new one has data (a single writer has then switched
//     over), when it is deleted, or after 30 poll intervals without growth;
//     it is closed at the latest two poll intervals after that, unless it
//     still matches a pattern (then it is followed like any other file).
//   - Truncation in place (logrotate's "copytruncate") is detected when the
//     file's size falls below the offset read so far; reading restarts at
//     offset 0.
//   - A file that is deleted is read to its end through the open descriptor
//     and then closed.
//   - Files that exist when Follow starts are read from their current end,
//     unless Options.FromStart is set; files that appear later, including
//     in directories that did not exist yet, are read from their beginning.
//
// # Detection
//
// inotify (through fsnotify) on the directories of the patterns is the fast
// path. Every Options.PollInterval, Follow also re-globs the patterns and
// compares each file's inode and size, so an event the kernel dropped (queue
// overflow), a directory created after Follow started, a directory matched
// by a wildcard, a symlink whose target lives in an unwatched directory, or
// a file system without inotify support (NFS, FUSE) costs latency, never
// lines. If inotify cannot be set up at all (instance limit reached), Follow
// relies on polling alone.
//
// # Limits
//
// Nothing is persisted: a new call of Follow does not know where the last
// one stopped. A file that is created and rotated away (renamed out of the
// patterns, or over another file) before Follow first sees it is not read;
// with inotify that window is short, with polling alone it is up to a poll
// interval. Lines written between logrotate's copy and its truncate are
// in the copy only; choose patterns that do not match rotated copies
// (app.log.1), otherwise a copy is followed as a new file and its lines are
// emitted twice. A file truncated and then refilled beyond the old offset
// before Follow looks at it again is indistinguishable from a file that
// grew, so its first bytes are skipped. A file that was closed after being
// renamed out of the patterns and is later renamed back in is read again
// from its beginning. A file that is deleted and whose
// inode number is reused by a new file at the same path before Follow sees
// the deletion is taken for the same file.
package tail
