//go:build !race

package shim

const raceEnv = ""
