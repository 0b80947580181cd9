// Package watch tells a program when a file or a directory has changed, for a
// config reloader sidecar: the counterpart of Kubernetes' configmap-reload,
// which sends SIGHUP to the main container when a ConfigMap volume it mounts
// is updated.
//
// Watch blocks and calls a function once per burst of changes:
//
//   - Debounced: events are collected until none has arrived for
//     Options.Debounce, so an editor's save or a ConfigMap update that
//     touches many files gives one call, after the last change.
//   - Content, not events: before calling, Watch compares a fingerprint of
//     the content (size and SHA-256 of each file, following symbolic links)
//     with the one at the previous call or at the start. A touch, a chmod, or
//     a rewrite or replace with the same bytes does not call; a file that
//     appears, disappears or is renamed does.
//   - Never concurrent: the function runs on Watch's goroutine, so changes
//     made while it runs are coalesced into at most one more call after it
//     returns.
//   - Replace-proof: watches are on directories, not on the watched file's
//     inode, and are re-armed after every check, so an editor's atomic
//     replace (write a temporary file, rename it over the original), a
//     directory that is removed and created again, and Kubernetes' atomic
//     ConfigMap update (a new timestamped directory, then a rename of the
//     symbolic link "..data_tmp" over "..data") keep being watched.
//   - Backstop: Options.PollInterval also compares the fingerprint
//     periodically, which catches what inotify does not report (a change
//     through a symbolic link to a directory that is not watched, an event
//     queue overflow), and gives calls during changes that never pause for
//     a whole Debounce.
//   - Clean: when Watch returns, the inotify instance, its goroutine, timers
//     and every file it opened are closed.
//
// # What is watched
//
// A file: its content, following symbolic links. Its parent directory is
// watched for the file's own name and for names beginning with "..", the
// internal entries of Kubernetes' atomic writer, so a ConfigMap key mounted
// as "config.yaml -> ..data/config.yaml" is seen when "..data" is swapped;
// the directory of the link's target is watched too.
//
// A directory: the name and content of every entry that is not itself a
// directory, following symbolic links. Subdirectories and their content are
// ignored, except what entries link to: a ConfigMap volume's keys are links
// into "..data", so its updates count, while "..data" and the timestamped
// directories themselves are skipped. Hidden files count like any other.
//
// A path that does not exist yet is waited for: Watch watches the nearest
// existing ancestor for the next component and walks down as directories
// appear; the path's appearance is a change. Its disappearance is one too.
//
// Every check reads the watched files in full: the package is meant for
// configuration, not for large data.
package watch
