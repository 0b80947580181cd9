// Package adapter implements the adapter pattern: it presents an application
// to the outside world in a standard form (Prometheus metrics, structured
// logs, health endpoints) without changing the application.
//
// The package has no API yet; it will read container output in the CRI log
// format that package pod stores (pod.LogEntry).
package adapter
