// Package config holds the check the adapters share for their
// configuration's addresses: CheckAddress, of a host:port to listen on or
// dial. Reading a configuration (JSON or YAML documents, durations as
// strings, unknown fields refused) is package internal/memberconf's, the
// same for every member. The package imports nothing of podkit.
package config
