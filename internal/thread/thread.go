// Package thread runs functions on dedicated operating-system threads that
// the Go runtime discards afterwards.
//
// Changing a thread's namespaces, cgroup membership or credentials taints it
// for every goroutine that might later run on it. The only safe way to do such
// a change in a Go program is to lock a goroutine to a thread, change the
// thread, and let the goroutine exit while still locked: the runtime then
// terminates the thread instead of reusing it.
package thread

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Run calls fn on a goroutine locked to an operating-system thread that is not
// the program's main thread, and returns when fn returns. The thread is never
// reused: it is terminated when fn returns, together with whatever fn changed
// about it. Run may be called from any goroutine, concurrently.
//
// A thread that started a child process with a parent-death signal must outlive
// the child, because the kernel sends that signal when the creating thread
// exits; callers that need this keep fn running (for example waiting for the
// child) for the child's whole life.
func Run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// Deliberately no UnlockOSThread: the thread dies with the goroutine.
		if unix.Gettid() != unix.Getpid() {
			fn()
			return
		}
		// This goroutine landed on the main thread, which the runtime never
		// discards. Keep it occupied and untouched while a second goroutine,
		// which must therefore land on another thread, locks and does the work.
		locked := make(chan struct{})
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			runtime.LockOSThread()
			close(locked)
			fn()
		}()
		<-locked
		runtime.UnlockOSThread()
		<-inner
	}()
	<-done
}
