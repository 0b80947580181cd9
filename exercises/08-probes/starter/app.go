// The app of exercise 8, run as this program again (lab.Self). Nothing to
// change here.

package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// app serves HTTP on 127.0.0.1:8080 of its pod. For its first second it
// warms up: /ready answers 503. Then /ready answers 200, until 2.5s after
// its start, when it deadlocks: every request, /healthz included, hangs
// for ever, though the process still runs.
func app() int {
	start := time.Now()
	var hung atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if hung.Load() {
			select {} // deadlocked
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case hung.Load():
			select {} // deadlocked
		case time.Since(start) < time.Second:
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	fmt.Println("warming up")
	time.AfterFunc(time.Second, func() { fmt.Println("warmed up") })
	time.AfterFunc(2500*time.Millisecond, func() {
		fmt.Println("hanging (a deadlock)")
		hung.Store(true)
	})
	if err := http.ListenAndServe("127.0.0.1:8080", mux); err != nil {
		fmt.Println(err)
	}
	return 1
}
