// Package members parses the command lines of podkit's ready-made
// in-process members ("podkit sidecar log-shipper ...", "podkit init ...",
// "podkit ambassador ...", "podkit adapter ..."): the process forms that a
// pod exported to Kubernetes runs, and the containers that podkit run and
// the examples' tests run in-process instead.
//
// It lives next to the podkit command, above the pattern packages it
// imports, and is not under cmd/podkit/internal only because the
// examples' tests (examples/internal/exampletest) load their manifests as
// podkit run does. Its API serves those two; it makes no promise to other
// programs. Parsing does not block and starts nothing; the returned
// containers and functions are the pattern packages' own.
package members
