// Package imagetest builds small OCI images and runs a local registry for
// tests of podkit's image store and of the pods that run images.
//
// Everything here is for tests: each function takes a testing.TB, fails
// it on error and registers its own cleanup with t.Cleanup.
package imagetest
