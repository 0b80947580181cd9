// Package podtest runs pods in tests, as net/http/httptest runs servers: a
// pod started by Start is stopped, and waited for, when its test ends, and
// a Buffer collects its containers' output while the test reads it.
package podtest
