//go:build race

package shim

// A program built with the race detector sleeps for a second before it exits,
// to let racing goroutines report; for a helper that only delays its parent.
const raceEnv = "GORACE=atexit_sleep_ms=0"
