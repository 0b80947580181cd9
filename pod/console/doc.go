// Package console shows the output of a pod's containers, and the lines of
// the program that runs the pod, on one writer, as docker compose does:
// each line whole, prefixed with its container's name (aligned, and in
// colour on a terminal), never cut by another container's line. podkit run
// and the examples use it; a program gives a container
// Console.Writer(name) as its Stdout and Stderr.
package console
