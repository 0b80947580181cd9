// Package config holds the helpers the adapters share to read and check
// their configuration: Duration, the JSON form of a time.Duration;
// DecodeStrict, JSON decoding that rejects unknown fields and trailing
// data; and CheckAddress, the check of a host:port to listen on or dial.
// The adapters' configuration types stay plain data with json tags; these
// helpers only read and check them. The package imports nothing of
// podkit.
package config
